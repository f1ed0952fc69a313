"""A stateless threshold unit (NIR's `Threshold`): spikes in every step whose input exceeds
its threshold. Its population reads its input instead of integrating it (its advance rule is
in `brainsim.network.emission`)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_parameters
from ..surrogate import AbstractSurrogate, NormalizedSuperSpike, spike_fn
from .base import AbstractSpikingNeuron


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
