r"""Legendre memory units (Voelker, Kajić & Eliasmith 2019) as a population model: the delay
system and its discretisation, the units (`LMUUnit`), their input (`LMUInput`) and the output
that routes a projection onto their memories (`MemoryEncoder`).

An LMU unit is a discrete-time map: one update per step whatever `dt` (its memory was
discretised for one `dt` at construction). It has no vector field; a population of them
advances with `brainsim.train.DiscreteTimeUpdate()` as its solver.
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

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameters, require_positive_int
from ..synapses.base import AbstractOutput
from ..synaptic_input import SynapticInput, as_synaptic_input
from .base import AbstractValueNeuron


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


def advance_memory(
    m: Float[Array, "*batch d"],
    u: Float[Array, "*batch"],
    a_bar: Float[Array, "d d"],
    b_bar: Float[Array, " d"],
) -> Float[Array, "*batch d"]:
    r"""One step of the discretised memory, $m_t = \bar A m_{t-1} + \bar B u_t$, for any leading
    batch axes; $(\bar A, \bar B)$ are held fixed (their gradients stopped), as in the paper."""
    a_bar, b_bar = jax.lax.stop_gradient(a_bar), jax.lax.stop_gradient(b_bar)
    return m @ a_bar.T + u[..., None] * b_bar[(None,) * u.ndim]


class LMUInput(SynapticInput):
    r"""Input to an `LMUUnit` population (dimensionless):

    - `current_at_zero` (inherited): $a_h$, the hidden drive ($W_x^\top x_t + W_h^\top
      h_{t-1}$); `CUBA` outputs and current inputs add here.
    - `conductance` (inherited): must stay 0 (an LMU unit has no membrane: `COBA` raises).
    - `memory`: $a_m$, the drive of each unit's memory ($e_x^\top x_t + e_h^\top h_{t-1}$);
      `MemoryEncoder()` outputs add here.
    """

    memory: Float[Array, "*n"]

    def add_current(self, current) -> "LMUInput":
        return LMUInput(self.current_at_zero + current, self.conductance, self.memory)

    def add_conductance(self, conductance, reversal) -> "LMUInput":
        raise TypeError(
            "an `LMUUnit` population has no membrane potential: project onto it with `bs.CUBA()` "
            "or `brainsim.dynamics.neurons.MemoryEncoder()`, not `bs.COBA(...)`."
        )


def as_lmu_input(args) -> LMUInput:
    """An `LMUInput`; any other input (`SynapticInput`, a plain drive, `None`) is the hidden drive."""
    if isinstance(args, LMUInput):
        return args
    drive = as_synaptic_input(args)
    return LMUInput(drive.current_at_zero, drive.conductance, jnp.zeros_like(drive.current_at_zero))


class MemoryEncoder(AbstractOutput):
    r"""Routes a projection's delivered sum onto the memory drive $a_m$ of an `LMUUnit`
    population: `Projection(..., output=MemoryEncoder())`. The projection's weights are the
    encoder: a `Dense(jnp.outer(e, jnp.ones(n)))` delivers $e^\top x$ to every unit's memory."""

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        drive = as_lmu_input(drive)
        return LMUInput(drive.current_at_zero, drive.conductance, drive.memory + value)


class LegendreMemory(eqx.Module):
    r"""The memory of the units of an `LMUUnit` population and how they read it: the
    discretised delay system, the memory's encoder of its own state, and the readout.

    **Fields:**
    - `a_bar` $\bar A$ `(d, d)`, `b_bar` $\bar B$ `(d,)`: the zero-order-hold discretisation
      (`zero_order_hold`) of `legendre_delay_system(d, theta)` over one step of `dt` ms; held
      fixed (their gradients are stopped). Shared by all units. A population updates once per
      step whatever the network's `dt`: run it with the `dt` it was discretised for, or the
      window becomes $\theta\,\Delta t_\mathrm{run} / \Delta t$.
    - `encoder` $e_m$ `(d,)`: the weights of the memory's own state in its input.
    - `readout` $W_m$ `(d, n)`: column $j$ reads unit $j$'s memory into its hidden drive
      (the layout of `brainsim.train.LMU.memory_weights`).

    `LegendreMemory.delay(n, order=..., theta=..., dt=..., key=...)` builds one as the `LMU`
    layer initialises its own: $e_m = 0$, $W_m$ normal with variance $1/d$.
    """

    a_bar: Float[Array, "d d"]
    b_bar: Float[Array, " d"]
    encoder: Float[Array, " d"]
    readout: Float[Array, "d n"]

    def __check_init__(self):
        for name in ("a_bar", "b_bar", "encoder", "readout"):
            if not eqx.is_inexact_array(getattr(self, name)):
                raise TypeError(f"`{name}` must be a floating-point array; got {getattr(self, name)!r}.")
        d = self.b_bar.shape[0] if self.b_bar.ndim == 1 else None
        if d is None or d == 0:
            raise ValueError(f"`b_bar` must have shape (d,) with d >= 1; got shape {self.b_bar.shape}.")
        expected = {"a_bar": (d, d), "encoder": (d,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"`{name}` must have shape {shape} (d = {d}, the length of `b_bar`); "
                    f"got shape {getattr(self, name).shape}."
                )
        if self.readout.ndim != 2 or self.readout.shape[0] != d:
            raise ValueError(
                f"`readout` must have shape (d, n) = ({d}, n) (d, the length of `b_bar`); "
                f"got shape {self.readout.shape}."
            )

    @classmethod
    def delay(
        cls, n: int, *, order: int, theta: float, key: PRNGKeyArray, dt: float = 1.0, dtype=None
    ) -> "LegendreMemory":
        r"""A memory of the last `theta` ms (> 0) in `order` (>= 1) Legendre coefficients for
        `n` (>= 1) units stepped every `dt` ms (> 0): $e_m = 0$, $W_m$ normal with variance
        $1/d$ (`key`), `dtype` default float64 under x64, else float32."""
        n = require_positive_int("n", n)
        dtype = jnp.result_type(float) if dtype is None else dtype
        a_bar, b_bar = zero_order_hold(*legendre_delay_system(order, theta), dt)
        readout = jr.normal(key, (order, n), dtype) / math.sqrt(order)
        return cls(a_bar.astype(dtype), b_bar.astype(dtype), jnp.zeros(order, dtype), readout)

    @property
    def order(self) -> int:
        """$d$, the number of Legendre coefficients."""
        return self.b_bar.shape[0]


class LMUUnitState(eqx.Module):
    r"""State of `LMUUnit`: `m`, each unit's memory (its Legendre coefficients), `(n, d)`;
    `h`, the hidden values, `(n,)`. Dimensionless."""

    m: Float[Array, "n d"]
    h: Float[Array, " n"]


class LMUUnit(AbstractValueNeuron[LMUUnitState]):
    r"""Legendre memory units (Voelker, Kajić & Eliasmith 2019): each unit $j$ holds a linear
    memory $m_j \in \mathbb{R}^d$ of its scalar input $u_j$ over a sliding window of $\theta$
    ms, and a hidden value $h_j$ that reads it *in the same step*. Given the drives $a_h, a_m$
    of step $t$ (an `LMUInput`):

    $$u_{j,t} = a_{m,j} + e_m^\top m_{j,t-1}, \qquad
    m_{j,t} = \bar A m_{j,t-1} + \bar B u_{j,t}, \qquad
    h_{j,t} = f\big(a_{h,j} + W_{m,:j}^\top m_{j,t} + b_j\big),$$

    with $(\bar A, \bar B, e_m, W_m)$ the `memory` (a `LegendreMemory`). The population emits
    $h_t$ (`value`), dimensionless. $m_0 = 0$, $h_0 = 0$.

    **The `LMU` layer as a `Network`.** The layer has *one* memory that every hidden unit
    reads. A projection delays by at least one step, so a separate memory population would
    lengthen the loop $h_{t-1} \to m_t \to h_t$ by a step; here each unit holds the memory it
    reads instead. A population of `n_hidden` units with the layer's $\bar A, \bar B, e_m, W_m,
    b$, whose input reaches $a_h$ through `CUBA` projections with weights $W_x$ (and its own
    outputs with $W_h$) and $a_m$ through `MemoryEncoder` projections with every column equal to
    $e_x$ (and $e_h$), gives every unit the same $u_t$, hence the same memory as the layer's:
    with its input delayed by one step, the network emits exactly the layer's outputs (at $n$
    copies of the memory's cost). With different columns each unit remembers its own signal.

    **Fields:**
    - `memory`: the `LegendreMemory` (its `readout` has `n` columns, one per unit).
    - `bias` $b$: float or `(n,)` array (default 0).
    - `activation` $f$: default `jnp.tanh`.

    ??? cite "Reference"
        ```bibtex
        @inproceedings{voelker2019legendre,
          author = {Voelker, Aaron R. and Kaji\'c, Ivana and Eliasmith, Chris},
          title = {Legendre Memory Units: Continuous-Time Representation in Recurrent Neural Networks},
          booktitle = {Advances in Neural Information Processing Systems 32}, year = {2019}}
        ```
    """

    memory: LegendreMemory
    bias: Parameter = 0.0
    activation: Callable = eqx.field(static=True, default=jnp.tanh)

    def __check_init__(self):
        if not isinstance(self.memory, LegendreMemory):
            raise TypeError(
                "`memory` must be a `LegendreMemory` (e.g. `LegendreMemory.delay(n, order=..., "
                f"theta=..., key=...)`); got {type(self.memory).__name__}."
            )
        require_parameters(self, {"bias": ""})
        if not callable(self.activation):
            raise TypeError(f"`activation` must be callable; got {self.activation!r}.")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> LMUUnitState:
        """All zero: empty memories, hidden values 0."""
        n = require_positive_int("n", n)
        if self.memory.readout.shape[1] != n:
            raise ValueError(
                f"`memory.readout` must have one column per unit, shape ({self.memory.order}, {n}); "
                f"got shape {self.memory.readout.shape}."
            )
        dtype = self.memory.readout.dtype
        return LMUUnitState(m=jnp.zeros((n, self.memory.order), dtype), h=jnp.zeros(n, dtype))

    def zero_input(self, n: int, dtype) -> LMUInput:
        zeros = jnp.zeros(n, dtype)
        return LMUInput(zeros, zeros, zeros)

    def vector_field(self, t: TimeLike, y: LMUUnitState, args) -> LMUUnitState:
        """None: the unit is a discrete-time map (`update`)."""
        raise TypeError(
            "`LMUUnit` is a discrete-time map with no vector field: give its population "
            "`solver=brainsim.train.DiscreteTimeUpdate()`."
        )

    def update(self, y: LMUUnitState, drive) -> LMUUnitState:
        """The state after one step under `drive` (an `LMUInput`; a plain array drives $a_h$)."""
        drive = as_lmu_input(drive)
        memory = self.memory
        u = drive.memory + y.m @ memory.encoder
        m = advance_memory(y.m, u, memory.a_bar, memory.b_bar)
        read = jnp.sum(m * memory.readout.T, axis=-1)
        return LMUUnitState(m=m, h=self.activation(drive.current_at_zero + read + self.bias))

    def value(self, y: LMUUnitState) -> Float[Array, " n"]:
        return y.h
