r"""Astrocyte Ca$^{2+}$/IP$_3$ dynamics: the G-ChI model of De Pittà et al. 2009, in the form of
Stimberg et al. 2019 (Li-Rinzel Ca$^{2+}$-induced Ca$^{2+}$ release, IP$_3$ metabolism, and
glutamate-activated metabotropic receptors)."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_nonnegative, require_parameter, require_parameters, require_positive
from ..neurons.base import AbstractValueNeuron
from ..synaptic_input import as_synaptic_input
from .gap_junctions import GapJunctions

PER_SECOND_TO_PER_MS = 1e-3
"""The parameters' rates are per second, as in the papers; the vector field is per ms."""

_RATES = {  # >= 0: a rate of 0 switches its flux off
    "O_P": "µM/s",
    "Omega_C": "1/s",
    "Omega_L": "1/s",
    "O_beta": "µM/s",
    "O_N": "1/(µM s)",
    "Omega_N": "1/s",
    "O_delta": "µM/s",
    "Omega_5P": "1/s",
    "O_3K": "µM/s",
}
_POSITIVE = {  # affinities, dissociation constants, total content, binding rate: > 0
    "K_P": "µM",
    "C_T": "µM",
    "d_1": "µM",
    "d_2": "µM",
    "O_2": "1/(µM s)",
    "d_3": "µM",
    "d_5": "µM",
    "K_KC": "µM",
    "kappa_delta": "µM",
    "K_delta": "µM",
    "K_D": "µM",
    "K_3K": "µM",
}
_NONNEGATIVE = {"rho_A": "", "zeta": ""}


class LiRinzelState(eqx.Module):
    """State of `LiRinzel`, each of shape `(n,)`:

    - `C`: cytosolic free Ca$^{2+}$ concentration, µM.
    - `h`: fraction of IP$_3$ receptors not inactivated by Ca$^{2+}$ (deinactivation gate), in [0, 1].
    - `I`: cytosolic IP$_3$ concentration, µM (held at `ip3_fixed` when that is given).
    - `gamma_A`: fraction of astrocytic metabotropic glutamate receptors bound, in [0, 1].
    """

    C: Float[Array, " n"]
    h: Float[Array, " n"]
    I: Float[Array, " n"]  # noqa: E741 (the papers' name)
    gamma_A: Float[Array, " n"]


class LiRinzel(AbstractValueNeuron[LiRinzelState]):
    r"""An astrocyte's Ca$^{2+}$ and IP$_3$ dynamics (G-ChI model, De Pittà et al. 2009), with the
    glutamate receptor kinetics and parameter names of Stimberg et al. 2019 (Fig. 2, 6).

    Ca$^{2+}$-induced Ca$^{2+}$ release from the ER (Li & Rinzel 1994):

    $$\frac{dC}{dt} = J_r + J_l - J_p, \qquad \frac{dh}{dt} = \frac{h_\infty - h}{\tau_h},$$

    $$J_r = \Omega_C\, m_\infty^3 h^3 \,(C_T - (1 + \rho_A) C), \quad
      J_l = \Omega_L (C_T - (1 + \rho_A) C), \quad J_p = O_P \frac{C^2}{C^2 + K_P^2},$$

    $$m_\infty = \frac{I}{I + d_1}\frac{C}{C + d_5}, \quad h_\infty = \frac{Q_2}{Q_2 + C}, \quad
      \tau_h = \frac{1}{O_2 (Q_2 + C)}, \quad Q_2 = d_2 \frac{I + d_1}{I + d_3}.$$

    IP$_3$ production by PLC$\beta$ (glutamate-driven) and PLC$\delta$ (Ca$^{2+}$-driven), and
    degradation by IP$_3$-3K and IP-5P:

    $$\frac{dI}{dt} = J_\beta + J_\delta - J_{3K} - J_{5P} + J_\mathrm{coupling}, \quad
      J_\beta = O_\beta \Gamma_A, \quad
      J_\delta = \frac{O_\delta}{1 + I/\kappa_\delta}\frac{C^2}{C^2 + K_\delta^2},$$

    $$J_{3K} = O_{3K} \frac{C^4}{C^4 + K_D^4}\frac{I}{I + K_{3K}}, \quad J_{5P} = \Omega_{5P} I,$$

    with $J_\mathrm{coupling}$ the gap-junction flux (`GapJunctions`, zero without). Receptors
    bind extracellular glutamate $Y_S$ (µM) and are desensitised by PKC:

    $$\frac{d\Gamma_A}{dt} = O_N Y_S (1 - \Gamma_A)
      - \Omega_N\left(1 + \zeta\frac{C}{C + K_{KC}}\right)\Gamma_A.$$

    **Input:** $Y_S$, the glutamate concentration at the astrocyte's synapses, µM: the
    `current_at_zero` of the population's input, i.e. the sum of its `CUBA` projections'
    synaptic values (conductances are ignored: an astrocyte has no membrane potential here). A
    projection from neurons with `ExponentialSynapse(tau=1e3 / Omega_c)` (25 ms for
    $\Omega_c$ = 40/s) and weight $\rho_c Y_T$ (µM released per spike, 2500 µM for
    $\rho_c = 0.005$, $Y_T$ = 500 mM), divided by the number of synapses the astrocyte covers,
    delivers the mean $Y_S$ of Stimberg et al. 2019 (their `Y_S_pre/N_incoming`).

    **Emits** $C$, µM.

    **Units:** concentrations in µM; the rates below are per second as in the papers, and the
    vector field is per ms (`PER_SECOND_TO_PER_MS` = 1e-3, applied once), like every brainsim
    model: a run of 10 s is `duration=10_000.0` ms. The dynamics are slow (periods of seconds),
    so `dt` of 1-10 ms with a diffrax solver (`solver=diffrax.Tsit5()`) is accurate.

    **Fields** (floats, or `(n,)` arrays for a heterogeneous population; defaults from Stimberg
    et al. 2019, Fig. 2, which takes them from De Pittà et al. 2009):
    - Ca$^{2+}$ fluxes: `O_P` (0.9 µM/s, SERCA uptake, >= 0), `K_P` (0.1 µM, SERCA affinity,
      > 0), `C_T` (2 µM, total free Ca$^{2+}$, > 0), `rho_A` (0.18, ER-to-cytoplasm volume
      ratio, >= 0), `Omega_C` (6/s, IP$_3$R release, >= 0), `Omega_L` (0.1/s, ER leak, >= 0).
    - IP$_3$R kinetics: `d_1` (0.13 µM), `d_2` (1.05 µM), `O_2` (0.2 /(µM s)), `d_3`
      (0.9434 µM), `d_5` (0.08 µM); all > 0.
    - Receptors and PLC$\beta$: `O_beta` (5 µM/s, >= 0), `O_N` (0.3 /(µM s), >= 0), `Omega_N`
      (0.5/s, >= 0), `K_KC` (0.5 µM, > 0), `zeta` (10, >= 0).
    - PLC$\delta$: `O_delta` (0.2 µM/s, >= 0), `kappa_delta` (1.5 µM, > 0), `K_delta`
      (0.3 µM, > 0).
    - Degradation: `Omega_5P` (0.1/s, >= 0), `K_D` (0.5 µM, > 0), `K_3K` (1 µM, > 0), `O_3K`
      (4.5 µM/s, >= 0).
    - `ip3_fixed`: `None` (default) for dynamic IP$_3$; or a concentration (µM, >= 0, scalar
      or `(n,)`) at which IP$_3$ is clamped: $I$ starts there, the fluxes use it, and
      $dI/dt = 0$ (the classic Li-Rinzel model under constant IP$_3$, whose Hopf window is in
      `docs/astrocytes.md`).
    - `gap_junctions`: `None`, or a `GapJunctions` coupling the population's astrocytes by
      IP$_3$ diffusion (its `neighbours` must have one row per astrocyte).

    ??? cite "References"
        ```bibtex
        @article{depitta2009,
          author = {De Pitt\`a, Maurizio and Goldberg, Mati and Volman, Vladislav and
                    Berry, Hugues and Ben-Jacob, Eshel},
          title = {Glutamate regulation of calcium and {IP3} oscillating and pulsating dynamics
                   in astrocytes},
          journal = {J. Biol. Phys.}, volume = {35}, number = {4}, pages = {383--411}, year = {2009}}
        @article{stimberg2019,
          author = {Stimberg, Marcel and Goodman, Dan F. M. and Brette, Romain and De Pitt\`a, Maurizio},
          title = {Modeling neuron-glia interactions with the {Brian} 2 simulator},
          booktitle = {Computational Glioscience}, publisher = {Springer}, pages = {471--505},
          year = {2019}}
        @article{li1994,
          author = {Li, Yue-Xian and Rinzel, John},
          title = {Equations for {InsP3} receptor-mediated {[Ca2+]i} oscillations derived from a
                   detailed kinetic model: a {Hodgkin-Huxley} like formalism},
          journal = {J. Theor. Biol.}, volume = {166}, number = {4}, pages = {461--473}, year = {1994}}
        ```

    !!! Example

        ```python
        astro = LiRinzel(ip3_fixed=0.5)  # µM: inside the oscillatory window
        y0 = astro.init_state(1)
        dydt = astro.vector_field(0.0, y0, 0.0)  # no glutamate; per ms
        ```
    """

    O_P: Parameter = 0.9
    K_P: Parameter = 0.1
    C_T: Parameter = 2.0
    rho_A: Parameter = 0.18
    Omega_C: Parameter = 6.0
    Omega_L: Parameter = 0.1
    d_1: Parameter = 0.13
    d_2: Parameter = 1.05
    O_2: Parameter = 0.2
    d_3: Parameter = 0.9434
    d_5: Parameter = 0.08
    O_beta: Parameter = 5.0
    O_N: Parameter = 0.3
    Omega_N: Parameter = 0.5
    K_KC: Parameter = 0.5
    zeta: Parameter = 10.0
    O_delta: Parameter = 0.2
    kappa_delta: Parameter = 1.5
    K_delta: Parameter = 0.3
    Omega_5P: Parameter = 0.1
    K_D: Parameter = 0.5
    K_3K: Parameter = 1.0
    O_3K: Parameter = 4.5
    ip3_fixed: Parameter | None = None
    gap_junctions: GapJunctions | None = None

    def __check_init__(self):
        units = {**_RATES, **_POSITIVE, **_NONNEGATIVE}
        require_parameters(self, units)
        for name, unit in _RATES.items():
            require_nonnegative(name, getattr(self, name), unit)
        for name, unit in _POSITIVE.items():
            require_positive(name, getattr(self, name), unit)
        for name, unit in _NONNEGATIVE.items():
            require_nonnegative(name, getattr(self, name), unit)
        if self.ip3_fixed is not None:
            require_parameter("ip3_fixed", self.ip3_fixed, "µM")
            require_nonnegative("ip3_fixed", self.ip3_fixed, "µM")
        if self.gap_junctions is not None and not isinstance(self.gap_junctions, GapJunctions):
            raise TypeError(
                "`gap_junctions` must be `GapJunctions(...)` or None; got "
                f"{type(self.gap_junctions).__name__}."
            )
        if self.gap_junctions is not None and self.ip3_fixed is not None:
            raise ValueError("`gap_junctions` diffuse IP3, which `ip3_fixed` clamps: give one or the other.")

    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> LiRinzelState:
        """Near rest, as Stimberg et al. 2019 (Fig. 6) start: $C$ = 0.01 µM, $h$ = 0.9,
        $I$ = 0.01 µM (or `ip3_fixed`), $\\Gamma_A$ = 0."""
        if self.gap_junctions is not None and self.gap_junctions.n != n:
            raise ValueError(
                f"`gap_junctions.neighbours` has {self.gap_junctions.n} rows but the population has "
                f"{n} astrocytes; give one row per astrocyte."
            )
        dtype = jnp.result_type(float)
        ip3 = 0.01 if self.ip3_fixed is None else self.ip3_fixed
        return LiRinzelState(
            C=jnp.full(n, 0.01, dtype),
            h=jnp.full(n, 0.9, dtype),
            I=jnp.broadcast_to(jnp.asarray(ip3, dtype), (n,)),
            gamma_A=jnp.zeros(n, dtype),
        )

    def vector_field(self, t: TimeLike, y: LiRinzelState, args) -> LiRinzelState:
        dtype = y.C.dtype
        p = {name: jnp.asarray(getattr(self, name), dtype) for name in (*_RATES, *_POSITIVE, *_NONNEGATIVE)}
        glutamate = jnp.asarray(as_synaptic_input(args).current_at_zero, dtype)
        C, h, gamma_A = y.C, y.h, y.gamma_A
        ip3 = (
            y.I if self.ip3_fixed is None else jnp.broadcast_to(jnp.asarray(self.ip3_fixed, dtype), y.I.shape)
        )

        # Ca2+-induced Ca2+ release (µM/s)
        m_inf = ip3 / (ip3 + p["d_1"]) * C / (C + p["d_5"])
        Q_2 = p["d_2"] * (ip3 + p["d_1"]) / (ip3 + p["d_3"])
        h_inf = Q_2 / (Q_2 + C)
        rate_h = p["O_2"] * (Q_2 + C)  # 1/tau_h, 1/s
        er_gradient = p["C_T"] - (1.0 + p["rho_A"]) * C
        J_r = p["Omega_C"] * m_inf**3 * h**3 * er_gradient
        J_l = p["Omega_L"] * er_gradient
        J_p = p["O_P"] * C**2 / (C**2 + p["K_P"] ** 2)
        # IP3 metabolism (µM/s)
        J_beta = p["O_beta"] * gamma_A
        J_delta = p["O_delta"] / (1.0 + ip3 / p["kappa_delta"]) * C**2 / (C**2 + p["K_delta"] ** 2)
        J_3K = p["O_3K"] * C**4 / (C**4 + p["K_D"] ** 4) * ip3 / (ip3 + p["K_3K"])
        J_5P = p["Omega_5P"] * ip3
        J_coupling = jnp.zeros_like(ip3) if self.gap_junctions is None else self.gap_junctions.flux(ip3)
        dI = J_beta + J_delta - J_3K - J_5P + J_coupling
        if self.ip3_fixed is not None:
            dI = jnp.zeros_like(dI)
        # metabotropic receptors (1/s)
        desensitisation = p["Omega_N"] * (1.0 + p["zeta"] * C / (C + p["K_KC"]))
        dgamma = p["O_N"] * glutamate * (1.0 - gamma_A) - desensitisation * gamma_A

        per_ms = PER_SECOND_TO_PER_MS
        return LiRinzelState(
            C=(J_r + J_l - J_p) * per_ms,
            h=rate_h * (h_inf - h) * per_ms,
            I=dI * per_ms,
            gamma_A=jnp.broadcast_to(dgamma, C.shape) * per_ms,
        )

    def value(self, y: LiRinzelState) -> Float[Array, " n"]:
        return y.C
