r"""Recurrent cells from the machine-learning literature, as sequence layers: the Legendre
memory unit (`LMU`) and the event-based GRU (`EGRU`), and `DiscreteTimeUpdate`, the stepper of
populations of discrete-time units.

Both are `AbstractLayer`s: `(T, batch, n_in) -> (T, batch, n_out)` (or batch first), stepped
by `checkpointed_scan` with the input projection of all steps hoisted out of the time loop (a
`prologue`), exactly as `RecurrentSpikingLayer`.

**In a `Network`.** Each cell's dynamics are a population model in
`brainsim.dynamics.neurons`, which the layer steps (EGRU) or whose memory step it shares
(LMU), and which a `Population` steps too, with `DiscreteTimeUpdate()` as its solver (the
units are discrete-time maps). The EGRU's `EGRUUnit` takes its three gate drives from
projections with `Gate` outputs. The LMU's `LMUUnit` gives every unit its own copy of the
Legendre memory, because the layer's hidden state reads the memory of the *same* step
($W_m^\top m_t$) while a `Projection` delays by at least one step: its input and its own
outputs reach the hidden drive through `CUBA` projections and the memory drive through
`MemoryEncoder` projections whose columns all equal the layer's encoder, so every copy equals
the layer's memory. For the input delayed by one step, the layer and such a `Network` emit the
same outputs.
"""

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._custom_types import TimeLike
from .._validation import require_positive_int
from ..dynamics.neurons.egru import EGRUUnit, EGRUUnitState, GateInput
from ..dynamics.neurons.lmu import (
    LegendreMemory,
    LMUUnit,
    advance_memory,
    legendre_delay_system as legendre_delay_system,
    shifted_legendre as shifted_legendre,
    zero_order_hold as zero_order_hold,
)
from ..dynamics.surrogate import AbstractSurrogate, SuperSpike
from ..integrate import AbstractStepper
from .bptt import checkpointed_scan
from .layers import AbstractLayer, SequenceIn, SequenceOut, _batched, _project, check_sequence


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
    $h_t$, `(T, batch, n_hidden)`; `memory` returns $m_t$ too. `unit` is the same cell as a
    population model (`LMUUnit`): a `Network` with a population of it (`DiscreteTimeUpdate`
    solver), its input and its own outputs (delay 1 step) reaching it through `CUBA`
    projections with weights $W_x$, $W_h$ and `MemoryEncoder` projections with every column
    $e_x$, $e_h$, emits the same outputs for the input delayed by one step.

    **Fields:**
    - `input_encoder` $e_x$ `(n_in,)`, `hidden_encoder` $e_h$ `(n_hidden,)`, `memory_encoder`
      $e_m$ `(order,)`.
    - `input_weights` $W_x$ `(n_in, n_hidden)`, `hidden_weights` $W_h$ `(n_hidden, n_hidden)`,
      `memory_weights` $W_m$ `(order, n_hidden)`, `bias` $b$ `(n_hidden,)`.
    - `memory_a` $\bar A$ `(order, order)`, `memory_b` $\bar B$ `(order,)` (fixed).
    - `theta`: window, ms (> 0); `dt`: step, ms (> 0); `activation` $f$ (default `tanh`).
    - `checkpoint_every`: chunk length of checkpointed BPTT, or `None`.

    Build it with `LMU(n_in, n_hidden, order=..., theta=..., key=...)`: encoders $e_x$,
    $e_h$ and the weights normal with variance 1/fan-in, $e_m = 0$, $b = 0$. Reference: Voelker,
    Kajić & Eliasmith (NeurIPS 2019), cited in full on `brainsim.dynamics.neurons.LMUUnit`.
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

    @property
    def unit(self) -> LMUUnit:
        """The cell as a population model of `n_hidden` units sharing this layer's $\bar A$,
        $\bar B$, $e_m$, $W_m$, $b$ and $f$ (gradients reach the layer's fields)."""
        memory = LegendreMemory(self.memory_a, self.memory_b, self.memory_encoder, self.memory_weights)
        return LMUUnit(memory=memory, bias=self.bias, activation=self.activation)

    def _run(self, x: SequenceIn):
        batch = x.shape[1]
        # x W_x and e_x . x of all steps as one product, hoisted out of the time loop
        weights = jnp.concatenate([self.input_weights, self.input_encoder[:, None]], axis=1)

        def project(x_block):
            return _project(x_block, weights)

        def body(carry, drive):
            m, h = carry
            u = drive[:, -1] + h @ self.hidden_encoder + m @ self.memory_encoder
            m = advance_memory(m, u, self.memory_a, self.memory_b)
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


class DiscreteTimeUpdate(AbstractStepper):
    r"""The "solver" of a population of discrete-time units (`EGRUUnit`, `LMUUnit`): one step is
    one application of the unit's map, $y_{k+1} = \mathrm{update}(y_k, I_k)$, whatever `dt`:
    `Population("h", n, bs.EGRUUnit(), solver=bst.DiscreteTimeUpdate())`. No solver state."""

    def check_model(self, model) -> None:
        if not isinstance(model, EGRUUnit | LMUUnit):
            raise TypeError(
                "`DiscreteTimeUpdate` steps discrete-time units (`EGRUUnit`, `LMUUnit`); "
                f"{type(model).__name__} has a vector field: use `bs.ExponentialEuler()` or a diffrax solver."
            )

    def init(self, model, t0, dt, y0, args):
        return None

    def step(self, model, t0: TimeLike, dt: TimeLike, y0, args, solver_state):
        return model.update(y0, args), None


class EGRU(AbstractLayer):
    r"""Event-based gated recurrent unit (Subramoney et al. 2023) as a layer: a population of
    `EGRUUnit`s driven by its input and by its own outputs of the previous step. In step $t$:

    $$a_u = W_u^\top x_t + V_u^\top y_{t-1}, \quad a_r = W_r^\top x_t + V_r^\top y_{t-1}, \quad
    a_z = W_z^\top x_t, \quad a_h = V_z^\top y_{t-1},$$

    then the unit's map (`EGRUUnit.update`: gates, $c_t$, events $e_t = H(c_t - \vartheta)$,
    output $y_t = c_t e_t$, reset $c'_t = c_t - \vartheta e_t$), so a unit is silent unless it
    emits an event. $c'_0 = y_0 = 0$. Outputs $y_t$ (dimensionless), `(T, batch, n_hidden)`;
    `events` returns $e_t$ too. Activity sparsity is $1 - \overline{e}$, with $\overline{e}$
    the fraction of units emitting per step. A `Network` with an `EGRUUnit` population
    (`DiscreteTimeUpdate` solver) fed through `Gate` projections, its recurrent projections
    with `delay_steps=1`, emits the same outputs for the input delayed by one step.

    **Fields:**
    - `input_weights` $[W_u\,W_r\,W_z]$ `(n_in, 3 n_hidden)`; `recurrent_weights`
      $[V_u\,V_r\,V_z]$ `(n_hidden, 3 n_hidden)`.
    - `unit`: the `EGRUUnit` (biases, thresholds and surrogate, `(n_hidden,)` arrays: trained
      with the weights).
    - `checkpoint_every`: chunk length of checkpointed BPTT, or `None`.

    Build it with `EGRU(n_in, n_hidden, key=...)`: weights normal with variance 1/fan-in,
    biases 0, thresholds `threshold` (default 0.1), `surrogate` default `SuperSpike(slope=10)`.

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
    unit: EGRUUnit
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
        zeros = jnp.zeros(n_hidden, dtype)
        self.unit = EGRUUnit(
            bias_update=zeros,
            bias_reset=zeros,
            bias_candidate=zeros,
            threshold=jnp.full(n_hidden, threshold, dtype),
            surrogate=SuperSpike(slope=10.0) if surrogate is None else surrogate,
        )
        self.checkpoint_every = checkpoint_every

    @property
    def n_in(self) -> int:
        return self.input_weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.recurrent_weights.shape[0]

    def step(self, state: EGRUUnitState, gates_x: Float[Array, "batch n3"]):
        """One step of the batch from `state` (an `EGRUUnitState` of `(batch, n_hidden)` leaves)
        with the hoisted $x_t^\top [W_u W_r W_z]$. Returns `(state, (y, e))`."""
        n = self.n_out
        recurrent = state.y @ self.recurrent_weights
        drive = GateInput(
            current_at_zero=gates_x[:, 2 * n :],
            conductance=jnp.zeros_like(state.y),
            update=gates_x[:, :n] + recurrent[:, :n],
            reset=gates_x[:, n : 2 * n] + recurrent[:, n : 2 * n],
            candidate_recurrent=recurrent[:, 2 * n :],
        )
        state = jax.vmap(self.unit.update)(state, drive)
        return state, (state.y, state.e)

    def _run(self, x: SequenceIn):
        rest = jtu.tree_map(lambda a: a.astype(x.dtype), self.unit.init_state(self.n_out))

        def project(x_block):
            return _project(x_block, self.input_weights)

        _, (y, e) = checkpointed_scan(
            lambda state, gates_x: self.step(state, gates_x),
            _batched(rest, x.shape[1]),
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
