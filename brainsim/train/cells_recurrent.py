r"""Recurrent cells from the machine-learning literature, as sequence layers: the Legendre
memory unit (`LMU`) and the event-based GRU (`EGRU`).

Both are `AbstractLayer`s: `(T, batch, n_in) -> (T, batch, n_out)` (or batch first), stepped
by `checkpointed_scan` with the input projection of all steps hoisted out of the time loop (a
`prologue`), exactly as `RecurrentSpikingLayer`.

**Why layers only (not `Network` populations).** Both cells are discrete-time maps (one update
per step whatever `dt`, no vector field for a `Population`'s stepper), and both receive several
separately weighted sums of their inputs per unit: the EGRU three (update gate, reset gate,
candidate, with the reset gate multiplying $y_{t-1}$ *before* the recurrent product), the LMU
two (the memory's scalar input $u_t$ and the hidden drive) plus a dense $d \times d$ memory
matrix. A `Network` population receives one `SynapticInput` per unit from its projections and
holds only per-unit `(n,)` parameters (`check_per_unit_parameters`), so neither cell fits the
neuron protocol without a gate-aware input type and a discrete-map advance rule in
`brainsim.network.emission`; until those exist the cells live here, on their own.
"""

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import require_positive_int
from ..dynamics.surrogate import AbstractSurrogate, SuperSpike, spike_fn
from .bptt import checkpointed_scan
from .layers import AbstractLayer, SequenceIn, SequenceOut, _project, check_sequence


def legendre_delay_system(order: int, theta: float) -> tuple[Float[Array, "d d"], Float[Array, " d"]]:
    r"""The continuous-time system $\dot m = A m + B u$ whose state $m \in \mathbb{R}^d$ holds the
    Legendre coefficients of the input's last $\theta$ ms (Voelker, Kajić & Eliasmith 2019, eq. 2):

    $$A_{ij} = \frac{2i + 1}{\theta} \begin{cases} -1 & i < j \\ (-1)^{i - j + 1} & i \ge j
    \end{cases}, \qquad B_i = \frac{(2i + 1)(-1)^i}{\theta}, \qquad i, j = 0 \ldots d - 1,$$

    the state-space form of the $[d-1/d]$ Padé approximant of the delay $e^{-\theta s}$.

    **Arguments:** `order` $d$ (>= 1), `theta` $\theta$ (ms, > 0).

    **Returns:** `(A, B)`, shapes `(d, d)` (1/ms) and `(d,)` (1/ms).
    """
    d = require_positive_int("order", order)
    if not theta > 0:
        raise ValueError(f"`theta` must be > 0 ms; got {theta!r}.")
    i = np.arange(d)[:, None]
    j = np.arange(d)[None, :]
    scale = (2 * i + 1) / theta
    a = np.where(i < j, -scale, scale * (-1.0) ** (i - j + 1))
    b = (2 * np.arange(d) + 1) * (-1.0) ** np.arange(d) / theta
    return jnp.asarray(a, jnp.result_type(float)), jnp.asarray(b, jnp.result_type(float))


def zero_order_hold(
    a: Float[ArrayLike, "d d"], b: Float[ArrayLike, " d"], dt: float
) -> tuple[Float[Array, "d d"], Float[Array, " d"]]:
    r"""Exact discretisation of $\dot m = A m + B u$ for an input held over each step of `dt` ms:

    $$\bar A = e^{A \Delta t}, \qquad \bar B = \int_0^{\Delta t} e^{A s} B\, ds,$$

    both read off one matrix exponential (`jax.scipy.linalg.expm`) of the augmented matrix
    $\begin{pmatrix} A & B \\ 0 & 0 \end{pmatrix} \Delta t$ (no inverse of $A$ needed).

    **Returns:** `(A_bar, B_bar)`, shapes `(d, d)` and `(d,)`.
    """
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 ms; got {dt!r}.")
    a, b = jnp.asarray(a), jnp.asarray(b)
    d = a.shape[0]
    augmented = jnp.zeros((d + 1, d + 1), a.dtype).at[:d, :d].set(a).at[:d, d].set(b)
    exp = jsl.expm(augmented * jnp.asarray(dt, a.dtype))
    return exp[:d, :d], exp[:d, d]


def shifted_legendre(order: int, r: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape d"]:
    r"""The shifted Legendre polynomials $\tilde P_i(r) = (-1)^i \sum_{k=0}^{i} \binom{i}{k}
    \binom{i+k}{k} (-r)^k$, $i = 0 \ldots d-1$: the LMU memory decodes the input delayed by
    $\theta'$ as $u(t - \theta') \approx \sum_i \tilde P_i(\theta'/\theta)\, m_i(t)$, $0 \le
    \theta' \le \theta$.

    **Returns:** shape `r.shape + (d,)`.
    """
    d = require_positive_int("order", order)
    r = jnp.asarray(r, jnp.result_type(float))
    coefficients = np.zeros((d, d))
    for i in range(d):  # static structure: d x d table of integers
        for k in range(i + 1):
            coefficients[i, k] = (-1.0) ** i * math.comb(i, k) * math.comb(i + k, k) * (-1.0) ** k
    exponents = jnp.arange(d, dtype=r.dtype).reshape((1,) * r.ndim + (d,))
    powers = r[..., None] ** exponents
    return powers @ jnp.asarray(coefficients, r.dtype).T


def _normal(key, shape, fan_in: int, dtype) -> Array:
    return jr.normal(key, shape, dtype) / math.sqrt(fan_in)


class LMU(AbstractLayer):
    r"""Legendre memory unit (Voelker, Kajić & Eliasmith 2019): a linear memory that holds a
    sliding window of length $\theta$ of one scalar signal, and a nonlinear hidden state that
    reads it. In step $t$:

    $$u_t = e_x^\top x_t + e_h^\top h_{t-1} + e_m^\top m_{t-1}, \qquad
    m_t = \bar A m_{t-1} + \bar B u_t, \qquad
    h_t = f(W_x^\top x_t + W_h^\top h_{t-1} + W_m^\top m_t + b),$$

    with $(\bar A, \bar B)$ the zero-order-hold discretisation (`zero_order_hold`) over `dt` of
    `legendre_delay_system(order, theta)`, computed once at construction and kept fixed (the
    forward pass stops their gradients, as in the paper). $h_0 = 0$, $m_0 = 0$. Outputs
    $h_t$, `(T, batch, n_hidden)`; `memory` returns $m_t$ too.

    **Fields:**
    - `input_encoder` $e_x$ `(n_in,)`, `hidden_encoder` $e_h$ `(n_hidden,)`, `memory_encoder`
      $e_m$ `(order,)`.
    - `input_weights` $W_x$ `(n_in, n_hidden)`, `hidden_weights` $W_h$ `(n_hidden, n_hidden)`,
      `memory_weights` $W_m$ `(order, n_hidden)`, `bias` $b$ `(n_hidden,)`.
    - `memory_a` $\bar A$ `(order, order)`, `memory_b` $\bar B$ `(order,)` (fixed).
    - `theta`: window, ms (> 0); `dt`: step, ms (> 0); `activation` $f$ (default `tanh`).
    - `checkpoint_every`: chunk length of checkpointed BPTT, or `None`.

    Build it with `LMU(n_in, n_hidden, order=..., theta=..., key=...)`: encoders $e_x$,
    $e_h$ and the weights normal with variance 1/fan-in, $e_m = 0$, $b = 0$.

    ??? cite "Reference"
        ```bibtex
        @inproceedings{voelker2019legendre,
          author = {Voelker, Aaron R. and Kaji\'c, Ivana and Eliasmith, Chris},
          title = {Legendre Memory Units: Continuous-Time Representation in Recurrent Neural Networks},
          booktitle = {Advances in Neural Information Processing Systems 32}, year = {2019}}
        ```
    """

    input_encoder: Float[Array, " n_in"]
    hidden_encoder: Float[Array, " n_hidden"]
    memory_encoder: Float[Array, " order"]
    input_weights: Float[Array, "n_in n_hidden"]
    hidden_weights: Float[Array, "n_hidden n_hidden"]
    memory_weights: Float[Array, "order n_hidden"]
    bias: Float[Array, " n_hidden"]
    memory_a: Float[Array, "order order"]
    memory_b: Float[Array, " order"]
    theta: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)
    checkpoint_every: int | None = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        *,
        order: int,
        theta: float,
        key: PRNGKeyArray,
        dt: float = 1.0,
        activation: Callable = jnp.tanh,
        checkpoint_every: int | None = None,
        dtype=None,
    ):
        n_in = require_positive_int("n_in", n_in)
        n_hidden = require_positive_int("n_hidden", n_hidden)
        dtype = jnp.result_type(float) if dtype is None else dtype
        a, b = zero_order_hold(*legendre_delay_system(order, theta), dt)
        keys = jr.split(key, 5)
        self.input_encoder = _normal(keys[0], (n_in,), n_in, dtype)
        self.hidden_encoder = _normal(keys[1], (n_hidden,), n_hidden, dtype)
        self.memory_encoder = jnp.zeros(order, dtype)
        self.input_weights = _normal(keys[2], (n_in, n_hidden), n_in, dtype)
        self.hidden_weights = _normal(keys[3], (n_hidden, n_hidden), n_hidden, dtype)
        self.memory_weights = _normal(keys[4], (order, n_hidden), order, dtype)
        self.bias = jnp.zeros(n_hidden, dtype)
        self.memory_a, self.memory_b = a.astype(dtype), b.astype(dtype)
        self.theta, self.dt, self.activation = theta, dt, activation
        self.checkpoint_every = checkpoint_every

    @property
    def n_in(self) -> int:
        return self.input_weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.input_weights.shape[1]

    @property
    def order(self) -> int:
        return self.memory_a.shape[0]

    def _run(self, x: SequenceIn):
        batch = x.shape[1]
        a_bar = jax.lax.stop_gradient(self.memory_a)
        b_bar = jax.lax.stop_gradient(self.memory_b)
        # x W_x and e_x . x of all steps as one product, hoisted out of the time loop
        weights = jnp.concatenate([self.input_weights, self.input_encoder[:, None]], axis=1)

        def project(x_block):
            return _project(x_block, weights)

        def body(carry, drive):
            m, h = carry
            u = drive[:, -1] + h @ self.hidden_encoder + m @ self.memory_encoder
            m = m @ a_bar.T + u[:, None] * b_bar[None, :]
            hidden = drive[:, :-1] + h @ self.hidden_weights + m @ self.memory_weights
            h = self.activation(hidden + self.bias[None, :])
            return (m, h), (h, m)

        init = (jnp.zeros((batch, self.order), x.dtype), jnp.zeros((batch, self.n_out), x.dtype))
        _, (h, m) = checkpointed_scan(body, init, x, checkpoint_every=self.checkpoint_every, prologue=project)
        return h, m

    def forward(self, x: SequenceIn) -> SequenceOut:
        return self._run(x)[0]

    def memory(
        self, x: ArrayLike, *, batch_first: bool = False
    ) -> tuple[Float[Array, "a b n_hidden"], Float[Array, "a b order"]]:
        """`(h, m)`: the hidden outputs and the memory $m_t$ of every step, in the layout of `x`."""
        h, m = self._run(check_sequence(x, self.n_in, batch_first, "LMU"))
        if batch_first:
            return jnp.swapaxes(h, 0, 1), jnp.swapaxes(m, 0, 1)
        return h, m


class EGRU(AbstractLayer):
    r"""Event-based gated recurrent unit (Subramoney et al. 2023): a GRU whose units pass on
    their internal state $c$ only in steps where it crosses a threshold $\vartheta$. In step $t$:

    $$\begin{aligned}
    u_t &= \sigma(W_u^\top x_t + V_u^\top y_{t-1} + b_u), \qquad
    r_t = \sigma(W_r^\top x_t + V_r^\top y_{t-1} + b_r), \\
    z_t &= \tanh(W_z^\top x_t + V_z^\top (r_t \odot y_{t-1}) + b_z), \qquad
    c_t = u_t \odot z_t + (1 - u_t) \odot c'_{t-1}, \\
    e_t &= H(c_t - \vartheta), \qquad y_t = c_t \odot e_t, \qquad c'_t = c_t - \vartheta \odot e_t,
    \end{aligned}$$

    so a unit is silent ($y = 0$) unless it emits an event $e = 1$, and an event resets its
    state by subtraction. $H$ is `brainsim.dynamics.surrogate.spike_fn` with the layer's
    `surrogate` as pseudo-derivative; the reset uses $e_t$ detached (as the simulator's resets
    do). The thresholds are trained with the weights. $c'_0 = y_0 = 0$. Outputs $y_t$
    (dimensionless), `(T, batch, n_hidden)`; `events` returns $e_t$ too. Activity sparsity
    is $1 - \overline{e}$, with $\overline{e}$ the fraction of units emitting per step.

    **Fields:**
    - `input_weights` $[W_u\,W_r\,W_z]$ `(n_in, 3 n_hidden)`; `recurrent_weights`
      $[V_u\,V_r\,V_z]$ `(n_hidden, 3 n_hidden)`; `bias` $[b_u\,b_r\,b_z]$ `(3 n_hidden,)`.
    - `threshold` $\vartheta$ `(n_hidden,)` (same unit as $c$, dimensionless; $c \in (-1, 1)$
      once started, so a threshold >= 1 silences a unit that starts at 0).
    - `surrogate`: pseudo-derivative of $H$ (default `SuperSpike(slope=10)`: peak 1 at threshold).
    - `checkpoint_every`: chunk length of checkpointed BPTT, or `None`.

    Build it with `EGRU(n_in, n_hidden, key=...)`: weights normal with variance 1/fan-in,
    biases 0, thresholds `threshold` (default 0.1).

    ??? cite "Reference"
        ```bibtex
        @inproceedings{subramoney2023efficient,
          author = {Subramoney, Anand and Nazeer, Khaleelulla Khan and Sch\"one, Mark and
                    Mayr, Christian and Kappel, David},
          title = {Efficient recurrent architectures through activity sparsity and sparse
                   back-propagation through time},
          booktitle = {International Conference on Learning Representations}, year = {2023}}
        ```
    """

    input_weights: Float[Array, "n_in n3"]
    recurrent_weights: Float[Array, "n_hidden n3"]
    bias: Float[Array, " n3"]
    threshold: Float[Array, " n_hidden"]
    surrogate: AbstractSurrogate
    checkpoint_every: int | None = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        *,
        key: PRNGKeyArray,
        threshold: float = 0.1,
        surrogate: AbstractSurrogate | None = None,
        checkpoint_every: int | None = None,
        dtype=None,
    ):
        n_in = require_positive_int("n_in", n_in)
        n_hidden = require_positive_int("n_hidden", n_hidden)
        dtype = jnp.result_type(float) if dtype is None else dtype
        k_in, k_rec = jr.split(key)
        self.input_weights = _normal(k_in, (n_in, 3 * n_hidden), n_in, dtype)
        self.recurrent_weights = _normal(k_rec, (n_hidden, 3 * n_hidden), n_hidden, dtype)
        self.bias = jnp.zeros(3 * n_hidden, dtype)
        self.threshold = jnp.full(n_hidden, threshold, dtype)
        if surrogate is not None and not isinstance(surrogate, AbstractSurrogate):
            raise TypeError(
                f"`surrogate` must be a brainsim surrogate (e.g. `bs.SuperSpike()`); got {surrogate!r}."
            )
        self.surrogate = SuperSpike(slope=10.0) if surrogate is None else surrogate
        self.checkpoint_every = checkpoint_every

    @property
    def n_in(self) -> int:
        return self.input_weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.threshold.shape[0]

    def step(self, carry, gates_x: Float[Array, "batch n3"]):
        """One step of the batch: `carry = (c', y)` of the previous step, `gates_x` the hoisted
        $x_t^\\top [W_u W_r W_z] + b$. Returns `((c', y), (y, e))`, each `(batch, n_hidden)`."""
        c, y = carry
        n = self.n_out
        v = self.recurrent_weights
        update_reset = jax.nn.sigmoid(gates_x[:, : 2 * n] + y @ v[:, : 2 * n])
        u, r = update_reset[:, :n], update_reset[:, n:]
        z = jnp.tanh(gates_x[:, 2 * n :] + (r * y) @ v[:, 2 * n :])
        c = u * z + (1.0 - u) * c
        threshold = self.threshold[None, :]
        e = spike_fn(c - threshold, self.surrogate)
        y = c * e
        c = c - threshold * jax.lax.stop_gradient(e)
        return (c, y), (y, e)

    def _run(self, x: SequenceIn):
        zeros = jnp.zeros((x.shape[1], self.n_out), x.dtype)

        def project(x_block):
            return _project(x_block, self.input_weights) + self.bias[None, None, :]

        _, (y, e) = checkpointed_scan(
            lambda carry, gates_x: self.step(carry, gates_x),
            (zeros, zeros),
            x,
            checkpoint_every=self.checkpoint_every,
            prologue=project,
        )
        return y, e

    def forward(self, x: SequenceIn) -> SequenceOut:
        return self._run(x)[0]

    def events(
        self, x: ArrayLike, *, batch_first: bool = False
    ) -> tuple[Float[Array, "a b n_hidden"], Float[Array, "a b n_hidden"]]:
        """`(y, e)`: the outputs and the 0/1 events of every step, in the layout of `x`
        (`e.mean()` is the fraction of units emitting per step)."""
        y, e = self._run(check_sequence(x, self.n_in, batch_first, "EGRU"))
        if batch_first:
            return jnp.swapaxes(y, 0, 1), jnp.swapaxes(e, 0, 1)
        return y, e
