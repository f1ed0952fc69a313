r"""Two-compartment (soma + apical dendrite) integrate-and-fire neuron, and the input and output
that route synapses onto its apical dendrite."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_less, require_nonnegative, require_parameters, require_positive
from ..surrogate import AbstractSurrogate, NormalizedSuperSpike, spike_fn
from ..synapses.base import CUBA, AbstractOutput
from ..synaptic_input import SynapticInput, as_synaptic_input
from .base import AbstractLinearInState, AbstractSpikingNeuron
from .refractory import countdown_rate, is_free


class DendriticInput(SynapticInput):
    r"""Input to a two-compartment neuron: $I_s(V_s) = I_0 - G V_s$ at the soma (the inherited
    `current_at_zero`, `conductance`; basal synapses, current inputs) and
    $I_a(V_d) = I_{0,a} - G_a V_d$ at the apical dendrite (`apical_current_at_zero`, pA;
    `apical_conductance`, nS). `add_current` and `add_conductance` act on the soma, so `CUBA`,
    `COBA` and current inputs reach it unchanged; `Apical` outputs reach the dendrite.
    """

    apical_current_at_zero: Float[Array, "*n"]
    apical_conductance: Float[Array, "*n"]

    def add_current(self, current) -> "DendriticInput":
        return DendriticInput(
            self.current_at_zero + current,
            self.conductance,
            self.apical_current_at_zero,
            self.apical_conductance,
        )

    def add_conductance(self, conductance, reversal) -> "DendriticInput":
        return DendriticInput(
            self.current_at_zero + conductance * reversal,
            self.conductance + conductance,
            self.apical_current_at_zero,
            self.apical_conductance,
        )

    def soma(self) -> SynapticInput:
        """The somatic part."""
        return SynapticInput(self.current_at_zero, self.conductance)

    def apical(self) -> SynapticInput:
        """The apical part."""
        return SynapticInput(self.apical_current_at_zero, self.apical_conductance)

    def with_apical(self, apical: SynapticInput) -> "DendriticInput":
        """This input with its apical part replaced by `apical`."""
        return DendriticInput(
            self.current_at_zero, self.conductance, apical.current_at_zero, apical.conductance
        )


def as_dendritic_input(args) -> DendriticInput:
    """A `DendriticInput`; any other input (`SynapticInput`, a current in pA, `None`) is somatic."""
    if isinstance(args, DendriticInput):
        return args
    soma = as_synaptic_input(args)
    zero = jnp.zeros_like(soma.current_at_zero)
    return DendriticInput(soma.current_at_zero, soma.conductance, zero, zero)


class Apical(AbstractOutput):
    """Routes a synaptic output onto the apical dendrite of a `TwoCompartmentLIF` population
    (top-down feedback): `Projection(..., output=Apical(CUBA()))` or
    `Apical(COBA(e_rev=0.0))`, the conductance then acting at the dendritic potential.

    **Fields:** `output`, the output applied at the dendrite (default `CUBA()`).
    """

    output: AbstractOutput = CUBA()

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        drive = as_dendritic_input(drive)
        return drive.with_apical(self.output.apply(drive.apical(), value))


class TwoCompartmentLIFState(eqx.Module):
    """State of `TwoCompartmentLIF`, each `(n,)`: `v` somatic potential (mV), `v_dendrite` apical
    potential (mV), `refractory` time left (ms)."""

    v: Float[Array, " n"]
    v_dendrite: Float[Array, " n"]
    refractory: Float[Array, " n"]


class TwoCompartmentLIF(
    AbstractSpikingNeuron[TwoCompartmentLIFState], AbstractLinearInState[TwoCompartmentLIFState]
):
    r"""A pyramidal neuron as two compartments, a spiking soma (basal input) and a passive
    apical dendrite (top-down input), coupled by a conductance $g_c$:

    $$C_s \frac{dV_s}{dt} = -g_s (V_s - E_L) + g_c (V_d - V_s) + I_s(V_s),$$

    $$C_d \frac{dV_d}{dt} = -g_d (V_d - E_L) + g_c (V_s - V_d) + I_a(V_d),$$

    $V_s \ge V_\theta \Rightarrow V_s \leftarrow V_r$, then $V_s$ is held for $t_\mathrm{ref}$
    (as `LIF`; the dendrite keeps integrating). This is the two-compartment reduction of
    Pinsky & Rinzel (1994) with passive compartments and an integrate-and-fire soma; its somatic
    equation is Urbanczik & Senn's (2014), $C\,dU/dt = -g_L U + g_D (V_w - U) + I$, with the
    dendrite given its own membrane. Each compartment is linear in its potential given the
    other's ($a_s = -(g_s + g_c + G)/C_s$, $b_s = (g_s E_L + g_c V_d + I_0)/C_s$, likewise for
    $V_d$), so exponential Euler steps each with the other held over the step.

    **Steady state** under constant currents $I_b$ (soma) and $I_a$ (dendrite), below threshold,
    with $u = V - E_L$ and $D = (g_s + g_c)(g_d + g_c) - g_c^2$:
    $u_s = [(g_d + g_c) I_b + g_c I_a]/D$, $u_d = [g_c I_b + (g_s + g_c) I_a]/D$. The dendrite's
    potential reaches the soma attenuated by $u_s/u_d = g_c/(g_s + g_c)$ (apical input only;
    Urbanczik & Senn's "dendritic prediction" of the somatic potential), so apical input
    lowers the basal rheobase, the $I_b$ at which $u_s$ reaches $V_\theta - E_L$, by
    $g_c I_a/(g_d + g_c)$, and raises the firing rate at a given basal drive.

    **Input:** a `DendriticInput` (`zero_input` makes one): synaptic outputs and current
    inputs act on the soma; `Apical` outputs on the dendrite.

    **Fields** (floats, or arrays of shape `(n,)`); the defaults give both compartments a
    20 ms time constant and an apical-to-soma attenuation $g_c/(g_s + g_c)$ of 1/2:
    - `c_soma`: somatic capacitance $C_s$, pF; > 0.
    - `g_soma`: somatic leak conductance $g_s$, nS; > 0.
    - `c_dendrite`: dendritic capacitance $C_d$, pF; > 0.
    - `g_dendrite`: dendritic leak conductance $g_d$, nS; > 0.
    - `g_coupling`: soma-dendrite coupling conductance $g_c$, nS; >= 0 (0 decouples them).
    - `e_leak`: leak reversal potential $E_L$ of both compartments, mV.
    - `v_threshold`: somatic spike threshold, mV; > `v_reset`.
    - `v_reset`: somatic reset potential, mV.
    - `t_ref`: refractory period, ms; >= 0.
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "References"
        ```bibtex
        @article{pinsky1994,
          author = {Pinsky, Paul F. and Rinzel, John},
          title = {Intrinsic and network rhythmogenesis in a reduced {T}raub model for {CA3} neurons},
          journal = {J. Comput. Neurosci.}, volume = {1}, pages = {39--60}, year = {1994}}
        @article{urbanczik2014,
          author = {Urbanczik, Robert and Senn, Walter},
          title = {Learning by the dendritic prediction of somatic spiking},
          journal = {Neuron}, volume = {81}, number = {3}, pages = {521--528}, year = {2014}}
        ```
    """

    c_soma: Parameter = 200.0
    g_soma: Parameter = 10.0
    c_dendrite: Parameter = 100.0
    g_dendrite: Parameter = 5.0
    g_coupling: Parameter = 10.0
    e_leak: Parameter = -70.0
    v_threshold: Parameter = -50.0
    v_reset: Parameter = -60.0
    t_ref: Parameter = 2.0
    surrogate: AbstractSurrogate = NormalizedSuperSpike()

    def __check_init__(self):
        units = {"c_soma": "pF", "g_soma": "nS", "c_dendrite": "pF", "g_dendrite": "nS"}
        require_parameters(
            self,
            units | {"g_coupling": "nS", "e_leak": "mV", "v_threshold": "mV", "v_reset": "mV", "t_ref": "ms"},
        )
        for name, unit in units.items():
            require_positive(name, getattr(self, name), unit)
        require_nonnegative("g_coupling", self.g_coupling, "nS")
        require_nonnegative("t_ref", self.t_ref, "ms")
        require_less("v_reset", self.v_reset, "v_threshold", self.v_threshold, "mV")

    def zero_input(self, n: int, dtype) -> DendriticInput:
        zeros = jnp.zeros(n, dtype)
        return DendriticInput(zeros, zeros, zeros, zeros)

    def init_state(self, n: int, *, key: PRNGKeyArray) -> TwoCompartmentLIFState:
        """`v` uniform in [`v_reset`, `v_threshold`) mV, the dendrite at `e_leak`; no neuron
        refractory."""
        v = jr.uniform(key, (n,), minval=self.v_reset, maxval=self.v_threshold)
        return TwoCompartmentLIFState(
            v=v, v_dendrite=jnp.full(n, self.e_leak, v.dtype), refractory=jnp.zeros(n)
        )

    def steady_state(
        self, basal: Float[Array, "*n"], apical: Float[Array, "*n"]
    ) -> tuple[Float[Array, "*n"], Float[Array, "*n"]]:
        """`(V_s, V_d)` (mV) at rest under constant currents `basal` and `apical` (pA), without
        spikes (the formula in the class docstring)."""
        gs, gd, gc = self.g_soma, self.g_dendrite, self.g_coupling
        det = (gs + gc) * (gd + gc) - gc * gc
        u_s = ((gd + gc) * basal + gc * apical) / det
        u_d = (gc * basal + (gs + gc) * apical) / det
        return self.e_leak + u_s, self.e_leak + u_d

    def linear_coefficients(
        self, t: TimeLike, y: TwoCompartmentLIFState, args
    ) -> tuple[TwoCompartmentLIFState, TwoCompartmentLIFState]:
        drive = as_dendritic_input(args)
        free = is_free(y.refractory)
        a_s = -(self.g_soma + self.g_coupling + drive.conductance) / self.c_soma
        b_s = (
            self.g_soma * self.e_leak + self.g_coupling * y.v_dendrite + drive.current_at_zero
        ) / self.c_soma
        a_d = -(self.g_dendrite + self.g_coupling + drive.apical_conductance) / self.c_dendrite
        b_d = (
            self.g_dendrite * self.e_leak + self.g_coupling * y.v + drive.apical_current_at_zero
        ) / self.c_dendrite
        zero = jnp.zeros_like(y.v)
        a = TwoCompartmentLIFState(
            v=jnp.where(free, a_s, zero), v_dendrite=jnp.broadcast_to(a_d, y.v.shape), refractory=zero
        )
        b = TwoCompartmentLIFState(
            v=jnp.where(free, b_s, zero),
            v_dendrite=jnp.broadcast_to(b_d, y.v.shape),
            refractory=countdown_rate(y.refractory),
        )
        return a, b

    def spike(self, y: TwoCompartmentLIFState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate)

    def reset(self, y: TwoCompartmentLIFState, spiked: Spikes) -> TwoCompartmentLIFState:
        fired = spiked > 0
        return TwoCompartmentLIFState(
            v=jnp.where(fired, self.v_reset, y.v),
            v_dendrite=y.v_dendrite,
            refractory=jnp.where(fired, self.t_ref, y.refractory).astype(y.refractory.dtype),
        )
