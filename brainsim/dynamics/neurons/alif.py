"""Adaptive leaky integrate-and-fire neuron: a LIF whose threshold rises after each spike."""

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


class ALIFState(eqx.Module):
    """State of `ALIF`, each `(n,)`: `v` membrane potential (mV), `adaptation` threshold
    increase (mV), `refractory` time left (ms)."""

    v: Float[Array, " n"]
    adaptation: Float[Array, " n"]
    refractory: Float[Array, " n"]


class ALIF(AbstractSpikingNeuron[ALIFState], AbstractLinearInState[ALIFState]):
    r"""Leaky integrate-and-fire neuron with a spike-triggered adaptive threshold.

    $$C_m \frac{dv}{dt} = -g_L (v - E_L) + I_\mathrm{syn}(v), \qquad
    \tau_a \frac{d\vartheta}{dt} = -\vartheta,$$

    $$v \ge V_\theta + \vartheta \Rightarrow v \leftarrow V_r,\ \vartheta \leftarrow \vartheta
    + \Delta\vartheta,$$

    then $v$ is held at $V_r$ for $t_\mathrm{ref}$ (the threshold keeps decaying), counted from the
    end of the step that spiked: $t_\mathrm{ref}/\Delta t$ held steps, as NEST and one more than
    Brian2 (see `LIF`'s refractory convention; `t_ref = t_ref_brian2 - dt` reproduces Brian2). The effective
    threshold $V_\theta + \vartheta$ rises with every spike and relaxes back with $\tau_a$, so
    inter-spike intervals lengthen under constant drive (the LSNN neuron of Bellec et al. 2018,
    written in mV). Linear in each state variable: $a_v = -(g_L + G)/C_m$,
    $b_v = (g_L E_L + I_0)/C_m$, $a_\vartheta = -1/\tau_a$, $b_\vartheta = 0$.

    **Fields** (floats, or arrays of shape `(n,)` for heterogeneous populations):
    - `c_m`: membrane capacitance, pF; > 0.
    - `g_leak`: leak conductance, nS; > 0 ($\tau_m = C_m / g_L$, ms).
    - `e_leak`: leak reversal potential, mV.
    - `v_threshold`: baseline spike threshold $V_\theta$, mV; > `v_reset`.
    - `v_reset`: reset potential, mV.
    - `t_ref`: refractory period, ms; >= 0.
    - `tau_adaptation`: decay time constant $\tau_a$ of the threshold increase, ms; > 0.
    - `threshold_increment`: threshold increase per spike $\Delta\vartheta$, mV; >= 0 (0 gives
      the plain `LIF`).
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "Reference"
        ```bibtex
        @inproceedings{bellec2018long,
          author = {Bellec, Guillaume and Salaj, Darjan and Subramoney, Anand and
                    Legenstein, Robert and Maass, Wolfgang},
          title = {Long short-term memory and learning-to-learn in networks of spiking neurons},
          booktitle = {Advances in Neural Information Processing Systems 31},
          pages = {787--797}, year = {2018}}
        ```
    """

    c_m: Parameter = 200.0
    g_leak: Parameter = 10.0
    e_leak: Parameter = -70.0
    v_threshold: Parameter = -50.0
    v_reset: Parameter = -60.0
    t_ref: Parameter = 2.0
    tau_adaptation: Parameter = 200.0
    threshold_increment: Parameter = 2.0
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
                "tau_adaptation": "ms",
                "threshold_increment": "mV",
            },
        )
        require_positive("c_m", self.c_m, "pF")
        require_positive("g_leak", self.g_leak, "nS")
        require_nonnegative("t_ref", self.t_ref, "ms")
        require_positive("tau_adaptation", self.tau_adaptation, "ms")
        require_nonnegative("threshold_increment", self.threshold_increment, "mV")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def init_state(self, n: int, *, key: PRNGKeyArray) -> ALIFState:
        """`v` uniform in [`v_reset`, `v_threshold`) mV; no adaptation; no neuron refractory."""
        v = jr.uniform(key, (n,), minval=self.v_reset, maxval=self.v_threshold)
        return ALIFState(v=v, adaptation=jnp.zeros(n), refractory=jnp.zeros(n))

    def linear_coefficients(self, t: TimeLike, y: ALIFState, args) -> tuple[ALIFState, ALIFState]:
        drive = as_synaptic_input(args)
        free = is_free(y.refractory)
        a_v = -(self.g_leak + drive.conductance) / self.c_m
        b_v = (self.g_leak * self.e_leak + drive.current_at_zero) / self.c_m
        zero = jnp.zeros_like(y.v)
        a = ALIFState(
            v=jnp.where(free, a_v, zero),
            adaptation=zero - 1.0 / self.tau_adaptation,
            refractory=zero,
        )
        b = ALIFState(
            v=jnp.where(free, b_v, zero),
            adaptation=jnp.zeros_like(y.adaptation),
            refractory=countdown_rate(y.refractory),
        )
        return a, b

    def spike(self, y: ALIFState) -> Spikes:
        return spike_fn(y.v - (self.v_threshold + y.adaptation), self.surrogate)

    def reset(self, y: ALIFState, spiked: Spikes) -> ALIFState:
        fired = spiked > 0
        return ALIFState(
            v=jnp.where(fired, self.v_reset, y.v),
            adaptation=y.adaptation + spiked * self.threshold_increment,
            refractory=jnp.where(fired, self.t_ref, y.refractory).astype(y.refractory.dtype),
        )
