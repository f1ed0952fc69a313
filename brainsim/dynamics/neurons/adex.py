"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005)."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_less, require_nonnegative, require_parameters, require_positive
from ..surrogate import AbstractSurrogate, SuperSpike, spike_fn
from ..synaptic_input import as_synaptic_input
from .base import AbstractSpikingNeuron
from .refractory import countdown_rate, is_free

ADAPTATION_V_FLOOR = -200.0
"""mV: the lowest `v` the adaptation drive a (v - E_L) sees (a Runge-Kutta stage past the cut-off
can land far below any real potential; see `AdEx`)."""


class AdExState(eqx.Module):
    """State of `AdEx`, each `(n,)`: `v` membrane potential (mV), `w` adaptation current (pA),
    `refractory` time left (ms)."""

    v: Float[Array, " n"]
    w: Float[Array, " n"]
    refractory: Float[Array, " n"]


class AdEx(AbstractSpikingNeuron[AdExState]):
    r"""Adaptive exponential integrate-and-fire neuron.

    $$C_m \frac{dv}{dt} = -g_L (v - E_L) + g_L \Delta_T \exp\!\left(\frac{v - V_T}{\Delta_T}\right)
    - w + I_\mathrm{syn}(v), \qquad \tau_w \frac{dw}{dt} = a (v - E_L) - w,$$

    $$v \ge V_\mathrm{cut} \Rightarrow v \leftarrow V_r,\ w \leftarrow w + b,$$

    then $v$ is held at $V_r$ for $t_\mathrm{ref}$ while $w$ keeps evolving:
    $t_\mathrm{ref}/\Delta t$ held steps counted from the end of the step that spiked, as NEST's
    `aeif_*` and one more than Brian2 (see `LIF`'s refractory convention;
    `t_ref = t_ref_brian2 - dt` reproduces Brian2). Above $V_T$ the exponential term makes $v$
    diverge in finite time; the cut-off $V_\mathrm{cut}$ (`v_threshold`) is where the upswing is
    declared a spike.

    **Evaluation beyond the cut-off.** The model is only defined up to $V_\mathrm{cut}$, but the
    stages of a Runge-Kutta step that crosses it are evaluated beyond it: with
    $V_\mathrm{cut} = 0$ mV the exponential alone is $10^9$-$10^{10}$ mV/ms there, so a stage
    lands at $|v| \sim 10^6$-$10^9$ mV. The whole vector field (leak, exponential, synaptic
    current and the adaptation drive $a(v - E_L)$) is therefore evaluated at
    $\min(v, V_\mathrm{cut})$, as NEST's `aeif_*` models do (`V = min(V_m, V_peak)`): it equals
    the model up to the cut-off, and beyond it it is the model's value at the cut-off, the state
    in which the spike is emitted. This makes Euler, Heun and Midpoint (non-negative weights:
    an overshoot stays an overshoot and is detected) agree with a small-step Euler run. Tsit5's
    weights are partly negative (-3.29, and -12.9 inside its stages), so once one stage is near
    the cut-off later stages can be thrown to $v \sim -10^9$ mV; the adaptation drive
    additionally sees $v$ no lower than `ADAPTATION_V_FLOOR` (-200 mV, far below any potential
    the cell reaches), so such a stage cannot pour $10^6$ pA into $w$. Without these limits a
    cut-off of 0 mV gave 2,266 spikes in 300 ms instead of 18 (Naud et al. 2008, delayed
    accelerating cell, Heun, $\Delta t = 0.1$ ms) and $w \approx -1.4 \times 10^6$ pA. With them,
    spike counts of the Naud et al. patterns match Euler at $\Delta t = 0.01$ ms for every cut-off
    from -40 to 0 mV under Euler, Heun, Midpoint and Tsit5 (`tests/dynamics/neurons/test_adex.py`).
    The defaults are the paper's tonic-spiking cell (Brette & Gerstner 2005, table 1) with
    $V_\mathrm{cut} = V_T + 5\Delta_T$, as in Brian2's AdEx examples; Brian2's Naud et al. example
    and NEST's default use $V_\mathrm{cut} = 0$ mV. The model is not linear in $v$, so use a
    diffrax solver (`diffrax.Heun()`, `diffrax.Tsit5()`) rather than `ExponentialEuler`.

    **Fields** (floats, or arrays of shape `(n,)` for heterogeneous populations):
    - `c_m`: membrane capacitance $C_m$, pF; > 0.
    - `g_leak`: leak conductance $g_L$, nS; > 0.
    - `e_leak`: leak reversal potential $E_L$, mV.
    - `v_rheobase`: $V_T$, the potential where the exponential term takes over, mV;
      < `v_threshold`.
    - `slope_factor`: $\Delta_T$, the sharpness of spike initiation, mV; > 0.
    - `v_threshold`: cut-off $V_\mathrm{cut}$ at which a spike is emitted, mV; > `v_reset`.
    - `v_reset`: reset potential $V_r$, mV.
    - `t_ref`: refractory period, ms; >= 0.
    - `tau_w`: adaptation time constant $\tau_w$, ms; > 0.
    - `adaptation_conductance`: subthreshold adaptation $a$, nS (any sign).
    - `adaptation_increment`: spike-triggered adaptation $b$, pA (any sign).
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "Reference"
        ```bibtex
        @article{brette2005adaptive,
          author = {Brette, Romain and Gerstner, Wulfram},
          title = {Adaptive exponential integrate-and-fire model as an effective description of
                   neuronal activity},
          journal = {Journal of Neurophysiology}, volume = {94}, number = {5},
          pages = {3637--3642}, year = {2005}, doi = {10.1152/jn.00686.2005}}
        ```
    """

    c_m: Parameter = 281.0
    g_leak: Parameter = 30.0
    e_leak: Parameter = -70.6
    v_rheobase: Parameter = -50.4
    slope_factor: Parameter = 2.0
    v_threshold: Parameter = -40.4
    v_reset: Parameter = -70.6
    t_ref: Parameter = 0.0
    tau_w: Parameter = 144.0
    adaptation_conductance: Parameter = 4.0
    adaptation_increment: Parameter = 80.5
    surrogate: AbstractSurrogate = SuperSpike()

    def __check_init__(self):
        require_parameters(
            self,
            {
                "c_m": "pF",
                "g_leak": "nS",
                "e_leak": "mV",
                "v_rheobase": "mV",
                "slope_factor": "mV",
                "v_threshold": "mV",
                "v_reset": "mV",
                "t_ref": "ms",
                "tau_w": "ms",
                "adaptation_conductance": "nS",
                "adaptation_increment": "pA",
            },
        )
        require_positive("c_m", self.c_m, "pF")
        require_positive("g_leak", self.g_leak, "nS")
        require_positive("slope_factor", self.slope_factor, "mV")
        require_positive("tau_w", self.tau_w, "ms")
        require_nonnegative("t_ref", self.t_ref, "ms")
        require_less("v_rheobase", self.v_rheobase, "v_threshold", self.v_threshold, "mV")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def init_state(self, n: int, *, key: PRNGKeyArray) -> AdExState:
        """`v` uniform in [`e_leak`, `v_rheobase`) mV; `w` = 0 pA; no neuron refractory."""
        v = jr.uniform(key, (n,), minval=self.e_leak, maxval=self.v_rheobase)
        return AdExState(v=v, w=jnp.zeros(n), refractory=jnp.zeros(n))

    def vector_field(self, t: TimeLike, y: AdExState, args) -> AdExState:
        drive = as_synaptic_input(args)
        v = jnp.minimum(y.v, self.v_threshold)  # the model's value at the cut-off beyond it
        exponent = (v - self.v_rheobase) / self.slope_factor
        spike_current = self.g_leak * self.slope_factor * jnp.exp(exponent)
        leak_current = -self.g_leak * (v - self.e_leak)
        dv = (leak_current + spike_current - y.w + drive.current(v)) / self.c_m
        v_adaptation = jnp.maximum(v, ADAPTATION_V_FLOOR)
        dw = (self.adaptation_conductance * (v_adaptation - self.e_leak) - y.w) / self.tau_w
        return AdExState(
            v=jnp.where(is_free(y.refractory), dv, jnp.zeros_like(dv)),
            w=dw,
            refractory=countdown_rate(y.refractory),
        )

    def spike(self, y: AdExState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate)

    def reset(self, y: AdExState, spiked: Spikes) -> AdExState:
        fired = spiked > 0
        return AdExState(
            v=jnp.where(fired, self.v_reset, y.v),
            w=y.w + spiked * self.adaptation_increment,
            refractory=jnp.where(fired, self.t_ref, y.refractory).astype(y.refractory.dtype),
        )
