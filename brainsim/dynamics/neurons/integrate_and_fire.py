"""Perfect (leak-free) integrate-and-fire neuron (NIR's `IF`)."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_less, require_parameters, require_positive
from ..surrogate import AbstractSurrogate, NormalizedSuperSpike, spike_fn
from ..synaptic_input import as_synaptic_input
from .base import AbstractLinearInState, AbstractSpikingNeuron


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
