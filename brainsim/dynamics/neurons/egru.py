r"""Units of an event-based gated recurrent unit (EGRU, Subramoney et al. 2023), the input that
carries their three gate drives, and the output that routes a projection onto one gate.

An EGRU unit is a discrete-time map: one update per step whatever `dt`. It has no vector field;
a population of them advances with `brainsim.train.DiscreteTimeUpdate()` as its solver.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameters
from ..surrogate import AbstractSurrogate, SuperSpike, spike_fn
from ..synapses.base import AbstractOutput
from ..synaptic_input import SynapticInput, as_synaptic_input
from .base import AbstractValueNeuron


class GateInput(SynapticInput):
    r"""Input to an `EGRUUnit` population: the summed drives of its gates (dimensionless).

    - `current_at_zero` (inherited): $a_z$, the candidate's drive from its inputs
      ($W_z^\top x_t$); `CUBA` outputs and current inputs add here.
    - `conductance` (inherited): must stay 0 (an EGRU unit has no membrane: `COBA` raises).
    - `update`: $a_u$, the update gate's drive ($W_u^\top x_t + V_u^\top y_{t-1}$).
    - `reset`: $a_r$, the reset gate's drive ($W_r^\top x_t + V_r^\top y_{t-1}$).
    - `candidate_recurrent`: $a_h$, the candidate's recurrent drive ($V_z^\top y_{t-1}$), which
      the reset gate scales.

    `Gate(name)` outputs add to one of them.
    """

    update: Float[Array, "*n"]
    reset: Float[Array, "*n"]
    candidate_recurrent: Float[Array, "*n"]

    def add_current(self, current) -> "GateInput":
        return GateInput(
            self.current_at_zero + current,
            self.conductance,
            self.update,
            self.reset,
            self.candidate_recurrent,
        )

    def add_conductance(self, conductance, reversal) -> "GateInput":
        raise TypeError(
            "an `EGRUUnit` population has no membrane potential: project onto it with `bs.CUBA()` "
            "or `brainsim.dynamics.neurons.Gate(...)`, not `bs.COBA(...)`."
        )


def as_gate_input(args) -> GateInput:
    """A `GateInput`; any other input (`SynapticInput`, a plain drive, `None`) drives the candidate."""
    if isinstance(args, GateInput):
        return args
    drive = as_synaptic_input(args)
    zero = jnp.zeros_like(drive.current_at_zero)
    return GateInput(drive.current_at_zero, drive.conductance, zero, zero, zero)


class Gate(AbstractOutput):
    r"""Routes a projection's delivered sum onto one drive of an `EGRUUnit` population:
    `Projection(..., output=Gate("update"))`.

    **Fields:** `gate`: `"update"` ($a_u$), `"reset"` ($a_r$), `"candidate"` ($a_z$, the same
    as `CUBA()`) or `"candidate_recurrent"` ($a_h$, scaled by the reset gate: use it for the
    population's own outputs).
    """

    gate: str = eqx.field(static=True)
    GATES: ClassVar[tuple[str, ...]] = ("update", "reset", "candidate", "candidate_recurrent")

    def __check_init__(self):
        if self.gate not in self.GATES:
            raise ValueError(f"`gate` must be one of {self.GATES}; got {self.gate!r}.")

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        drive = as_gate_input(drive)
        if self.gate == "candidate":
            return drive.add_current(value)
        return eqx.tree_at(lambda d: getattr(d, self.gate), drive, getattr(drive, self.gate) + value)


class EGRUUnitState(eqx.Module):
    r"""State of `EGRUUnit`, each `(n,)`: `c`, the internal state after the reset ($c'_t$);
    `y`, the output ($c_t e_t$); `e`, the events (0/1)."""

    c: Float[Array, " n"]
    y: Float[Array, " n"]
    e: Float[Array, " n"]


class EGRUUnit(AbstractValueNeuron[EGRUUnitState]):
    r"""Units of an event-based GRU (Subramoney, Nazeer, Schöne, Mayr & Kappel 2023): a GRU
    whose units pass on their internal state $c$ only in steps where it crosses a threshold
    $\vartheta$. Given the drives $a_u, a_r, a_z, a_h$ of step $t$ (a `GateInput`):

    $$\begin{aligned}
    u_t &= \sigma(a_u + b_u), \qquad r_t = \sigma(a_r + b_r), \qquad
    z_t = \tanh(a_z + r_t \odot a_h + b_z), \\
    c_t &= u_t \odot z_t + (1 - u_t) \odot c'_{t-1}, \qquad e_t = H(c_t - \vartheta), \qquad
    y_t = c_t \odot e_t, \qquad c'_t = c_t - \vartheta \odot e_t.
    \end{aligned}$$

    A unit is silent ($y = 0$) unless it emits an event ($e = 1$), and an event resets its state
    by subtraction. $H$ is `spike_fn` with `surrogate` as pseudo-derivative; the reset uses
    $e_t$ detached, as the simulator's resets do. The reset gate scales the recurrent drive
    *after* the recurrent product ($r_t \odot V_z^\top y_{t-1}$, the form of cuDNN and of
    PyTorch's `nn.GRU`), so every drive is a sum over presynaptic outputs that projections
    deliver. The population emits $y_t$ (`value`), dimensionless.

    **Fields** (floats or `(n,)` arrays, dimensionless):
    - `bias_update` $b_u$, `bias_reset` $b_r$, `bias_candidate` $b_z$ (default 0).
    - `threshold` $\vartheta$ (default 0.1; $|c| < 1$, so $\vartheta \ge 1$ silences a unit
      that starts at 0).
    - `surrogate`: pseudo-derivative of $H$ (default `SuperSpike(slope=10)`, peak 1).

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

    bias_update: Parameter = 0.0
    bias_reset: Parameter = 0.0
    bias_candidate: Parameter = 0.0
    threshold: Parameter = 0.1
    surrogate: AbstractSurrogate = SuperSpike(slope=10.0)

    def __check_init__(self):
        require_parameters(self, {"bias_update": "", "bias_reset": "", "bias_candidate": "", "threshold": ""})
        if not isinstance(self.surrogate, AbstractSurrogate):
            raise TypeError(
                f"`surrogate` must be a brainsim surrogate (e.g. `bs.SuperSpike()`); got {self.surrogate!r}."
            )

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> EGRUUnitState:
        """All zero: no internal state, no output, no event."""
        zeros = jnp.zeros(n)
        return EGRUUnitState(c=zeros, y=zeros, e=zeros)

    def zero_input(self, n: int, dtype) -> GateInput:
        zeros = jnp.zeros(n, dtype)
        return GateInput(zeros, zeros, zeros, zeros, zeros)

    def vector_field(self, t: TimeLike, y: EGRUUnitState, args) -> EGRUUnitState:
        """None: the unit is a discrete-time map (`update`)."""
        raise TypeError(
            "`EGRUUnit` is a discrete-time map with no vector field: give its population "
            "`solver=brainsim.train.DiscreteTimeUpdate()`."
        )

    def update(self, y: EGRUUnitState, drive) -> EGRUUnitState:
        """The state after one step under `drive` (a `GateInput`; a plain array drives $a_z$)."""
        drive = as_gate_input(drive)
        u = jax.nn.sigmoid(drive.update + self.bias_update)
        r = jax.nn.sigmoid(drive.reset + self.bias_reset)
        z = jnp.tanh(drive.current_at_zero + r * drive.candidate_recurrent + self.bias_candidate)
        c = u * z + (1.0 - u) * y.c
        e = spike_fn(c - self.threshold, self.surrogate)
        return EGRUUnitState(c=c - self.threshold * jax.lax.stop_gradient(e), y=c * e, e=e)

    def value(self, y: EGRUUnitState) -> Float[Array, " n"]:
        return y.y
