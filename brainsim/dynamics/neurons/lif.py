"""Leaky integrate-and-fire neuron."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_less, require_nonnegative, require_parameters, require_positive
from ..surrogate import AbstractSurrogate, NormalizedSuperSpike, spike_fn
from ..synaptic_input import as_synaptic_input
from .base import AbstractLinearInState, AbstractSpikingNeuron
from .refractory import countdown_rate, is_free


class LIFState(eqx.Module):
    """State of `LIF`: `v` membrane potential (mV), `refractory` time left (ms), each `(n,)`."""

    v: Float[Array, " n"]
    refractory: Float[Array, " n"]


class LIF(AbstractSpikingNeuron[LIFState], AbstractLinearInState[LIFState]):
    r"""Leaky integrate-and-fire neuron with an absolute refractory period.

    $$C_m \frac{dv}{dt} = -g_L (v - E_L) + I_\mathrm{syn}(v), \qquad
    v \ge V_\theta \Rightarrow v \leftarrow V_r,$$

    then $v$ is held at $V_r$ for $t_\mathrm{ref}$. With $I_\mathrm{syn}(v) = I_0 - G v$ (see
    `SynapticInput`) the model is linear in $v$: $a = -(g_L + G)/C_m$, $b = (g_L E_L + I_0)/C_m$.

    **Refractory convention** (shared with `ALIF` and `AdEx`, see
    `brainsim.dynamics.neurons.refractory`). A spike is detected after the step
    $[t_k, t_k + \Delta t]$ in which $v$ crossed $V_\theta$ and is time-stamped $t_k + \Delta t$;
    $v$ is then held at $V_r$ for $t_\mathrm{ref}$ *from the end of that step*: the next
    $t_\mathrm{ref}/\Delta t$ steps are held and $v$ integrates again from
    $t_k + \Delta t + t_\mathrm{ref}$. NEST's `iaf_cond_exp` and `iaf_psc_exp` do the same (their
    counter `r` is set to $t_\mathrm{ref}/h$ grid steps at the spike and counts down once per
    step, with $V_m$ clamped while $r > 0$). Brian2 holds one step fewer: it stamps the spike with
    the *start* of the step, $t_k$ (`lastspike`), and integrates again in every step that starts
    at $t$ with `timestep(t - lastspike, dt) >= timestep(refractory, dt)`, so only
    $t_\mathrm{ref}/\Delta t - 1$ steps are held. At the same $t_\mathrm{ref}$ brainsim's
    neurons are therefore refractory $\Delta t$ longer than Brian2's (the COBA benchmark fires
    about 0.9 Hz slower at $\Delta t = 0.1$ ms). To reproduce Brian2, pass
    `t_ref = t_ref_brian2 - dt` (e.g. `t_ref=4.9` for Brian2's `refractory=5*ms` at 0.1 ms). The
    fused C++ engine copies this convention bit for bit.

    **Fields** (floats, or arrays of shape `(n,)` for heterogeneous populations):
    - `c_m`: membrane capacitance, pF; > 0.
    - `g_leak`: leak conductance, nS; > 0 ($\tau_m = C_m / g_L$, ms).
    - `e_leak`: leak reversal potential, mV.
    - `v_threshold`: spike threshold, mV; > `v_reset`.
    - `v_reset`: reset potential, mV.
    - `t_ref`: refractory period, ms; >= 0; held steps = `t_ref / dt` (see above).
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "Reference"
        ```bibtex
        @article{lapicque1907,
          author = {Lapicque, Louis},
          title = {Recherches quantitatives sur l'excitation electrique des nerfs},
          journal = {J. Physiol. Pathol. Gen.}, volume = {9}, pages = {620--635}, year = {1907}}
        ```
    """

    c_m: Parameter = 200.0
    g_leak: Parameter = 10.0
    e_leak: Parameter = -70.0
    v_threshold: Parameter = -50.0
    v_reset: Parameter = -60.0
    t_ref: Parameter = 2.0
    surrogate: AbstractSurrogate = NormalizedSuperSpike()

    def __check_init__(self):
        require_parameters(
            self,
            {
                "c_m": "pF",
                "g_leak": "nS",
                "e_leak": "mV",
                "v_threshold": "mV",
                "v_reset": "mV",
                "t_ref": "ms",
            },
        )
        require_positive("c_m", self.c_m, "pF")
        require_positive("g_leak", self.g_leak, "nS")
        require_nonnegative("t_ref", self.t_ref, "ms")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def init_state(self, n: int, *, key: PRNGKeyArray) -> LIFState:
        """`v` uniform in [`v_reset`, `v_threshold`) mV; no neuron refractory."""
        v = jr.uniform(key, (n,), minval=self.v_reset, maxval=self.v_threshold)
        return LIFState(v=v, refractory=jnp.zeros(n))

    def linear_coefficients(self, t: TimeLike, y: LIFState, args) -> tuple[LIFState, LIFState]:
        drive = as_synaptic_input(args)
        free = is_free(y.refractory)
        a_v = -(self.g_leak + drive.conductance) / self.c_m
        b_v = (self.g_leak * self.e_leak + drive.current_at_zero) / self.c_m
        zero = jnp.zeros_like(y.v)
        a = LIFState(v=jnp.where(free, a_v, zero), refractory=zero)
        b = LIFState(v=jnp.where(free, b_v, zero), refractory=countdown_rate(y.refractory))
        return a, b

    def spike(self, y: LIFState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate)

    def reset(self, y: LIFState, spiked: Spikes) -> LIFState:
        fired = spiked > 0
        return LIFState(
            v=jnp.where(fired, self.v_reset, y.v),
            refractory=jnp.where(fired, self.t_ref, y.refractory).astype(y.refractory.dtype),
        )
