r"""Gliotransmission (Stimberg et al. 2019): an astrocyte releases gliotransmitter when its
Ca$^{2+}$ crosses a threshold, and presynaptic receptors bound by it change release probability.

The chain of Stimberg et al. 2019 (Fig. 4, 6) is three brainsim parts:

1. `GliotransmitterRelease(LiRinzel(...))`: the astrocyte population emits a release event (0/1)
   in the step where $C$ rises through $C_\Theta$ (once per crossing).
2. A projection astrocytes -> receptors with `short_term=TsodyksMarkram(U=U_A, tau_d=1e3 / Omega_A,
   tau_f=1e-6)`, `ExponentialSynapse(tau=1e3 / Omega_e)`, weight $\rho_e G_T$ (µM) and `CUBA`:
   each event releases the fraction $U_A x_A$ of the resources $x_A$, which recover at $\Omega_A$
   (with a vanishing `tau_f`, Tsodyks-Markram's utilisation is exactly $U_A$ at every event), and
   the extracellular gliotransmitter $G_A$ (µM) decays at $\Omega_e$: Stimberg et al.'s
   `G_A += rho_e G_T U_A x_A; x_A -= U_A x_A`.
3. `PresynapticReceptors`: one unit per astrocyte domain integrates the receptors' bound fraction
   $\Gamma_S$ under $G_A$ and emits the release probability $U_0$ of the synapses in the domain.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_in_range, require_nonnegative, require_parameters, require_positive
from ..neurons.base import AbstractLinearInState, AbstractSpikingNeuron, AbstractValueNeuron
from ..surrogate import AbstractSurrogate, SuperSpike, spike_fn
from ..synaptic_input import SynapticInput, as_synaptic_input
from .li_rinzel import PER_SECOND_TO_PER_MS, LiRinzel, LiRinzelState


class GliotransmitterReleaseState(eqx.Module):
    """State of `GliotransmitterRelease`: `astrocyte`, the `LiRinzelState`; `above` (0.0 or 1.0,
    shape `(n,)`), whether $C$ was above $C_\\Theta$ at the end of the last step."""

    astrocyte: LiRinzelState
    above: Float[Array, " n"]


class GliotransmitterRelease(AbstractSpikingNeuron[GliotransmitterReleaseState]):
    r"""An astrocyte (`LiRinzel`) that emits a gliotransmitter release event each time its Ca$^{2+}$
    rises through $C_\Theta$, as Stimberg et al. 2019 (`threshold='C>C_Theta'`,
    `refractory='C>C_Theta'`: one release per crossing, none while $C$ stays above).

    The astrocyte's dynamics are unchanged (its vector field, its input: glutamate in µM); the
    flag `above` ($d/dt = 0$) is set at a release and cleared once $C$ is back below
    $C_\Theta$. What an event releases (the recovering resource $x_A$ and the extracellular
    gliotransmitter $G_A$) belongs to the outgoing projection: see the module docstring.

    **Fields:**
    - `astrocyte`: the `LiRinzel` model.
    - `C_theta`: Ca$^{2+}$ threshold for exocytosis, µM; > 0 (0.5 µM in Stimberg et al. 2019).
    - `surrogate`: spike derivative for the backward pass, in 1/µM (`SuperSpike(slope=10.0)`:
      width about 0.1 µM).

    **Emits** 0/1 release events.
    """

    astrocyte: LiRinzel = LiRinzel()
    C_theta: Parameter = 0.5
    surrogate: AbstractSurrogate = SuperSpike(slope=10.0)

    def __check_init__(self):
        if not isinstance(self.astrocyte, LiRinzel):
            raise TypeError(f"`astrocyte` must be a `LiRinzel`; got {type(self.astrocyte).__name__}.")
        require_parameters(self, {"C_theta": "µM"})
        require_positive("C_theta", self.C_theta, "µM")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> GliotransmitterReleaseState:
        astrocyte = self.astrocyte.init_state(n, key=key)
        return GliotransmitterReleaseState(astrocyte, (astrocyte.C > self.C_theta).astype(astrocyte.C.dtype))

    def zero_input(self, n: int, dtype) -> SynapticInput:
        return self.astrocyte.zero_input(n, dtype)

    def vector_field(self, t: TimeLike, y: GliotransmitterReleaseState, args) -> GliotransmitterReleaseState:
        return GliotransmitterReleaseState(
            self.astrocyte.vector_field(t, y.astrocyte, args), jnp.zeros_like(y.above)
        )

    def spike(self, y: GliotransmitterReleaseState) -> Spikes:
        return spike_fn(y.astrocyte.C - self.C_theta, self.surrogate) * (1.0 - y.above)

    def reset(self, y: GliotransmitterReleaseState, spiked: Spikes) -> GliotransmitterReleaseState:
        """No change to the astrocyte; `above` = ($C > C_\\Theta$), which covers `spiked` too."""
        return GliotransmitterReleaseState(y.astrocyte, (y.astrocyte.C > self.C_theta).astype(y.above.dtype))


class PresynapticReceptorsState(eqx.Module):
    r"""State of `PresynapticReceptors`: `gamma_S`, the fraction of presynaptic receptors bound by
    gliotransmitter, in [0, 1], shape `(n,)`."""

    gamma_S: Float[Array, " n"]


class PresynapticReceptors(
    AbstractValueNeuron[PresynapticReceptorsState], AbstractLinearInState[PresynapticReceptorsState]
):
    r"""Presynaptic receptors of the synapses of one astrocyte domain, bound by gliotransmitter
    $G_A$ (Stimberg et al. 2019, Fig. 4, 6):

    $$\frac{d\Gamma_S}{dt} = O_G\,G_A\,(1 - \Gamma_S) - \Omega_G\,\Gamma_S, \qquad
      U_0 = (1 - \Gamma_S)\,U_0^* + \alpha\,\Gamma_S.$$

    Linear in $\Gamma_S$ given $G_A$, so `ExponentialEuler` (the default) is exact for $G_A$ held
    over a step. Every synapse of a domain sees the same $G_A$, so one unit per astrocyte stands
    for all of them (Stimberg et al. integrate $\Gamma_S$ per synapse, with identical results for
    identical initial states).

    **Input:** $G_A$, µM: the `current_at_zero` of the input (a `CUBA` projection from a
    `GliotransmitterRelease` population, module docstring).

    **Emits** $U_0$, the release probability of the domain's synapses (dimensionless, in
    [min($U_0^*$, $\alpha$), max($U_0^*$, $\alpha$)]).

    **Fields:**
    - `U_0_star`: resting release probability, in [0, 1] (0.6).
    - `alpha`: release probability with every receptor bound, in [0, 1]: < `U_0_star` for
      release-decreasing, > for release-increasing gliotransmission (0 in Fig. 4; 1 in Fig. 6's
      "release-increasing" network).
    - `O_G`: agonist binding rate, 1/(µM s); >= 0 (1.5).
    - `Omega_G`: agonist release rate, 1/s; >= 0 (0.5/60).
    """

    U_0_star: Parameter = 0.6
    alpha: Parameter = 0.0
    O_G: Parameter = 1.5
    Omega_G: Parameter = 0.5 / 60.0

    def __check_init__(self):
        require_parameters(self, {"U_0_star": "", "alpha": "", "O_G": "1/(µM s)", "Omega_G": "1/s"})
        require_in_range("U_0_star", self.U_0_star, 0.0, 1.0)
        require_in_range("alpha", self.alpha, 0.0, 1.0)
        require_nonnegative("O_G", self.O_G, "1/(µM s)")
        require_nonnegative("Omega_G", self.Omega_G, "1/s")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> PresynapticReceptorsState:
        """No receptor bound."""
        return PresynapticReceptorsState(jnp.zeros(n, jnp.result_type(float)))

    def linear_coefficients(self, t: TimeLike, y: PresynapticReceptorsState, args):
        dtype = y.gamma_S.dtype
        gliotransmitter = jnp.asarray(as_synaptic_input(args).current_at_zero, dtype)
        binding = jnp.asarray(self.O_G, dtype) * gliotransmitter * PER_SECOND_TO_PER_MS  # 1/ms
        unbinding = jnp.asarray(self.Omega_G, dtype) * PER_SECOND_TO_PER_MS
        a = jnp.broadcast_to(-(binding + unbinding), y.gamma_S.shape)
        b = jnp.broadcast_to(binding, y.gamma_S.shape)
        return PresynapticReceptorsState(a), PresynapticReceptorsState(b)

    def value(self, y: PresynapticReceptorsState) -> Float[Array, " n"]:
        gamma = y.gamma_S
        return (1.0 - gamma) * jnp.asarray(self.U_0_star, gamma.dtype) + jnp.asarray(
            self.alpha, gamma.dtype
        ) * gamma
