"""Two spiking models that NIR has and brainsim's neuron library lacks: the leak-free
integrate-and-fire neuron (NIR `IF`) and the stateless threshold unit (NIR `Threshold`).

They live here, next to the NIR converter that needs them, until the neuron library takes them
(`brainsim/dynamics/neurons/`). Both follow the neuron contract of `brainsim.dynamics.neurons`:
parameters as fields, a separate state, spikes with a surrogate gradient.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._custom_types import Parameter, Spikes, TimeLike
from .._validation import require_less, require_parameters, require_positive
from ..dynamics import AbstractLinearInState, AbstractSpikingNeuron
from ..dynamics.surrogate import AbstractSurrogate, NormalizedSuperSpike, spike_fn
from ..dynamics.synaptic_input import as_synaptic_input
from ..network import PopulationState
from ..network.emission import advance_population


class IntegrateAndFireState(eqx.Module):
    """State of `IntegrateAndFire`: `v`, the membrane potential, mV, shape `(n,)`."""

    v: Float[Array, " n"]


class IntegrateAndFire(
    AbstractSpikingNeuron[IntegrateAndFireState], AbstractLinearInState[IntegrateAndFireState]
):
    r"""Perfect (leak-free) integrate-and-fire neuron:

    $$C_m \frac{dv}{dt} = I_\mathrm{syn}(v), \qquad v \ge V_\theta \Rightarrow v \leftarrow V_r,$$

    no refractory period. With $I_\mathrm{syn}(v) = I_0 - G v$ (`SynapticInput`) it is linear in
    $v$: $a = -G / C_m$, $b = I_0 / C_m$, so exponential Euler is exact for an input held over
    the step (with $a = 0$ it is $v + \Delta t\, I_0 / C_m$). A `LIF` with a very long membrane
    time constant only approaches it; this model has no leak at all. It is NIR's `IF` node,
    $\dot v = R I$ with $t$ in s, $v$ in mV and $I$ in pA, so $R = 1000 / C_m$ (see
    `brainsim.io.nir`).

    **Fields** (floats, or arrays of shape `(n,)`):
    - `c_m`: membrane capacitance, pF; > 0.
    - `v_threshold`: spike threshold, mV; > `v_reset`.
    - `v_reset`: reset potential, mV.
    - `surrogate`: spike derivative used in the backward pass.
    """

    c_m: Parameter = 200.0
    v_threshold: Parameter = 10.0
    v_reset: Parameter = 0.0
    surrogate: AbstractSurrogate = NormalizedSuperSpike()

    def __check_init__(self):
        require_parameters(self, {"c_m": "pF", "v_threshold": "mV", "v_reset": "mV"})
        require_positive("c_m", self.c_m, "pF")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def init_state(self, n: int, *, key: PRNGKeyArray) -> IntegrateAndFireState:
        """`v` uniform in [`v_reset`, `v_threshold`) mV."""
        return IntegrateAndFireState(
            v=jax.random.uniform(key, (n,), minval=self.v_reset, maxval=self.v_threshold)
        )

    def linear_coefficients(
        self, t: TimeLike, y: IntegrateAndFireState, args
    ) -> tuple[IntegrateAndFireState, IntegrateAndFireState]:
        drive = as_synaptic_input(args)
        a = jnp.broadcast_to(-drive.conductance / self.c_m, y.v.shape).astype(y.v.dtype)
        b = jnp.broadcast_to(drive.current_at_zero / self.c_m, y.v.shape).astype(y.v.dtype)
        return IntegrateAndFireState(v=a), IntegrateAndFireState(v=b)

    def spike(self, y: IntegrateAndFireState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate)

    def reset(self, y: IntegrateAndFireState, spiked: Spikes) -> IntegrateAndFireState:
        return IntegrateAndFireState(v=jnp.where(spiked > 0, self.v_reset, y.v).astype(y.v.dtype))


class ThresholdUnitState(eqx.Module):
    """State of `ThresholdUnit`: `x`, the input of the last step (pA), shape `(n,)`."""

    x: Float[Array, " n"]


class ThresholdUnit(AbstractSpikingNeuron[ThresholdUnitState]):
    r"""A stateless spiking unit: a Heaviside step of its input,

    $$z_k = H(x_k - \theta), \qquad x_k = I_0 \text{ of step } k,$$

    with $x_k$ the current the unit receives in step $k$ (pA: the sum of its `CUBA` synaptic
    outputs and current inputs; conductance-based inputs are not defined for it). It has no
    memory and no reset: it emits in every step whose input exceeds the threshold. The state
    keeps the last input only so that monitors can read it. NIR's `Threshold` node.

    A unit fed by spikes through an `InstantaneousSynapse` sees each spike as the current
    $w / \Delta t$ of one step, so its output depends on `dt`; fed by values (`ValueSource`,
    rate units) it does not.

    **Fields:**
    - `threshold`: threshold $\theta$, pA (a float or an `(n,)` array).
    - `surrogate`: derivative of the step used in the backward pass (per pA).
    """

    threshold: Parameter = 0.0
    surrogate: AbstractSurrogate = NormalizedSuperSpike()

    def __check_init__(self):
        require_parameters(self, {"threshold": "pA"})

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> ThresholdUnitState:
        """No input yet: `x` = 0 pA."""
        return ThresholdUnitState(x=jnp.zeros(n))

    def vector_field(self, t: TimeLike, y: ThresholdUnitState, args) -> ThresholdUnitState:
        """No dynamics of its own: $dx/dt = 0$ (the input is read, not integrated)."""
        return ThresholdUnitState(x=jnp.zeros_like(y.x))

    def spike(self, y: ThresholdUnitState) -> Spikes:
        return spike_fn(y.x - self.threshold, self.surrogate)

    def reset(self, y: ThresholdUnitState, spiked: Spikes) -> ThresholdUnitState:
        return y


@advance_population.register
def _(model: ThresholdUnit, pop, state, drive, data, t, dt):
    """The unit reads its input instead of integrating it; its solver is not used."""
    x = jnp.broadcast_to(as_synaptic_input(drive).current_at_zero, (pop.n,)).astype(state.neuron.x.dtype)
    y = ThresholdUnitState(x=x)
    return PopulationState(y, state.solver), model.spike(y)
