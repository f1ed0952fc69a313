r"""Inhibitory spike-timing-dependent plasticity that balances excitation: Vogels, Sprekeler,
Zenke, Clopath & Gerstner 2011 (Science 334:1569).

A symmetric (Hebbian) window plus a constant depression at every presynaptic spike: inhibitory
synapses onto a neuron that fires faster than the target rate $\rho_0$ grow, those onto a
neuron that fires slower shrink, until the postsynaptic rate is $\rho_0$.
"""

import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import require_nonnegative
from .base import AbstractPlasticityRule
from .stdp import PairTraces, _check_amplitudes, _check_bounds, _check_scalar, _check_time_constants, fade


class InhibitorySTDP(AbstractPlasticityRule):
    r"""Inhibitory STDP of Vogels et al. 2011, for inhibitory synapses (nS into a
    `COBA(e_rev=-80.0)` output, weights >= 0).

    Traces $\tau \dot x_i = -x_i$, $\tau \dot y_j = -y_j$ (dimensionless), each increased by 1 at
    a spike of its neuron. At a presynaptic spike of $i$:
    $w_{ij} \leftarrow w_{ij} + \eta\,(y_j - \alpha)$, then $x_i \leftarrow x_i + 1$. At a
    postsynaptic spike of $j$: $w_{ij} \leftarrow w_{ij} + \eta\, x_i$, then
    $y_j \leftarrow y_j + 1$. Weights are clipped to `[w_min, w_max]` after each move.

    The depression $\alpha = 2 \rho_0 \tau$ (dimensionless; $\rho_0$ in Hz, $\tau$ in ms, so
    `alpha = 2 * rho_0 * 1e-3 * tau`) sets the target rate: for uncorrelated Poisson trains
    at rates $\rho_i$ (pre) and $\rho_j$ (post) the mean drift is
    $\langle \dot w_{ij} \rangle = 2\eta\,\rho_i\,\tau\,(\rho_j - \rho_0)$ (rates in 1/ms),
    positive (more inhibition) while neuron $j$ fires above $\rho_0$.

    One pairing at any lag $\Delta t$ changes the weight by
    $\eta\, e^{-|\Delta t|/\tau} - \eta\alpha$ (the symmetric window, then the presynaptic
    spike's $-\eta\alpha$); a presynaptic spike alone changes it by $-\eta\alpha$. NEST's
    `vogels_sprekeler_synapse` is the same rule with `alpha` given directly.

    **Fields:**
    - `eta`: learning rate, in the weight unit (nS), >= 0 (Zenke's network version of the
      paper, an example of Brian's, uses $10^{-2}$ with weights in units of 1 nS; larger
      values converge faster and fluctuate more).
    - `rho_0`: target postsynaptic rate, Hz, >= 0 (Vogels et al.: 5 Hz).
    - `tau`: trace time constant $\tau_\mathrm{STDP}$, ms, > 0 (Vogels et al.: 20 ms).
    - `w_min`, `w_max`: weight bounds (nS), `w_min <= w_max`; default `[0, 100]`.

    ??? cite "Reference"
        ```bibtex
        @article{vogels2011,
          author = {Vogels, T. P. and Sprekeler, H. and Zenke, F. and Clopath, C. and Gerstner, W.},
          title = {Inhibitory plasticity balances excitation and inhibition in sensory pathways
                   and memory networks},
          journal = {Science}, volume = {334}, number = {6062}, pages = {1569--1573}, year = {2011}}
        ```
    """

    eta: Float[Array, ""] | float = 1e-3
    rho_0: Float[Array, ""] | float = 5.0
    tau: Float[Array, ""] | float = 20.0
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 100.0

    def __check_init__(self):
        _check_amplitudes(self, ("eta",))
        _check_scalar("rho_0", self.rho_0)
        require_nonnegative("rho_0", self.rho_0, "Hz")
        _check_time_constants(self, ("tau",))
        _check_bounds(self)

    @property
    def alpha(self) -> Float[Array, ""] | float:
        r"""The depression $\alpha = 2 \rho_0 \tau$ (dimensionless: $\rho_0$ in Hz times $\tau$
        in ms times $10^{-3}$)."""
        return 2.0 * self.rho_0 * 1e-3 * self.tau

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> PairTraces:
        dtype = jnp.result_type(float)
        return PairTraces(jnp.zeros(n_pre, dtype), jnp.zeros(n_post, dtype))

    def decay(self, state: PairTraces, dt: float) -> PairTraces:
        return PairTraces(fade(state.pre, self.tau, dt), fade(state.post, self.tau, dt))

    def on_pre(self, state, w, pre, post):
        return self.eta * (state.post[post] - self.alpha)

    def count_pre(self, state, spikes):
        return PairTraces(state.pre + spikes.astype(state.pre.dtype), state.post)

    def on_post(self, state, w, pre, post):
        return self.eta * state.pre[pre]

    def count_post(self, state, spikes):
        return PairTraces(state.pre, state.post + spikes.astype(state.post.dtype))
