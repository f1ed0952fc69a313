"""Hodgkin-Huxley neuron with Traub-Miles kinetics (the COBAHH benchmark cell)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, Spikes, TimeLike
from ..._validation import require_parameters, require_positive
from ..surrogate import AbstractSurrogate, SuperSpike, spike_fn
from ..synaptic_input import as_synaptic_input
from .base import AbstractLinearInState, AbstractSpikingNeuron

_SERIES_BELOW = 1e-4
"""Below this |x|, x / (e^x - 1) is taken from its Taylor series (removable singularity at 0)."""


def _x_over_expm1(x: Float[Array, "*n"]) -> Float[Array, "*n"]:
    r"""$x / (e^x - 1)$, finite with finite derivatives for every finite `x`.

    Each branch only sees inputs on which it is well conditioned, so neither the forward pass
    nor the gradient meets 0/0 or inf/inf: the Taylor series $1 - x/2 + x^2/12$ near 0,
    $x e^{-x} / (1 - e^{-x})$ for $x > 0$, and $x / (e^x - 1)$ for $x < 0$.
    """
    small = jnp.abs(x) < _SERIES_BELOW
    x_pos = jnp.where(x >= _SERIES_BELOW, x, 1.0)
    x_neg = jnp.where(x <= -_SERIES_BELOW, x, -1.0)
    positive = x_pos * jnp.exp(-x_pos) / -jnp.expm1(-x_pos)
    negative = x_neg / jnp.expm1(x_neg)
    series = 1.0 - x / 2.0 + x**2 / 12.0
    return jnp.where(small, series, jnp.where(x > 0, positive, negative))


class HodgkinHuxleyState(eqx.Module):
    """State of `HodgkinHuxley`, each `(n,)`: `v` membrane potential (mV); gating variables
    `m`, `h`, `n` (dimensionless, in [0, 1]); `above` (0.0 or 1.0), whether `v` was above
    `v_threshold` after the last step, so that a spike is counted once per upward crossing."""

    v: Float[Array, " n"]
    m: Float[Array, " n"]
    h: Float[Array, " n"]
    n: Float[Array, " n"]
    above: Float[Array, " n"]


class HodgkinHuxley(
    AbstractSpikingNeuron[HodgkinHuxleyState], AbstractLinearInState[HodgkinHuxleyState]
):
    r"""Hodgkin-Huxley neuron with the Traub-Miles sodium and potassium kinetics. With the default
    parameters (those of the COBAHH benchmark) an isolated cell fires at ~13 Hz without input;
    about -31 pA silences it.

    $$C_m \frac{dv}{dt} = g_L (E_L - v) - g_{Na} m^3 h\,(v - E_{Na}) - g_K n^4 (v - E_K)
    + I_\mathrm{syn}(v),$$

    $$\frac{dx}{dt} = \alpha_x(v)\,(1 - x) - \beta_x(v)\,x \quad (x = m, h, n),$$

    with rates in 1/ms of $u = v - V_T$ (mV):

    $$\alpha_m = \frac{0.32\,(13 - u)}{e^{(13 - u)/4} - 1},\quad
    \beta_m = \frac{0.28\,(u - 40)}{e^{(u - 40)/5} - 1},\quad
    \alpha_h = 0.128\,e^{(17 - u)/18},\quad \beta_h = \frac{4}{1 + e^{(40 - u)/5}},$$

    $$\alpha_n = \frac{0.032\,(15 - u)}{e^{(15 - u)/5} - 1},\quad
    \beta_n = 0.5\,e^{(10 - u)/40}.$$

    The fractions are evaluated as $x / (e^x - 1)$ with its removable singularity at $x = 0$
    handled exactly, so values and gradients stay finite. A spike is an upward crossing of
    `v_threshold`; `v` is not reset. The `above` flag ($d/dt = 0$) remembers that `v` is above
    threshold, and is cleared by `reset` once `v` falls below it. The model is linear in each
    state variable given the others (Brian2's "conditionally linear"): $a_v = -(g_L +
    g_{Na} m^3 h + g_K n^4 + G)/C_m$, $b_v = (g_L E_L + g_{Na} m^3 h E_{Na} + g_K n^4 E_K +
    I_0)/C_m$, $a_x = -(\alpha_x + \beta_x)$, $b_x = \alpha_x$; so `ExponentialEuler` applies,
    as in Brian2's `examples/COBAHH.py` (`method='exponential_euler'`). The defaults are that
    benchmark's (Brette et al. 2007, benchmark 3).

    **Fields** (floats, or arrays of shape `(n,)` for heterogeneous populations):
    - `c_m`: membrane capacitance, pF; > 0.
    - `g_leak`: leak conductance, nS; > 0.
    - `e_leak`: leak reversal potential, mV.
    - `g_na`: maximal sodium conductance, nS; > 0 (20 µS = 20000 nS).
    - `g_k`: maximal potassium conductance, nS; > 0 (6 µS = 6000 nS).
    - `e_na`: sodium reversal potential, mV.
    - `e_k`: potassium reversal potential, mV.
    - `v_rate_offset`: $V_T$, the potential the rate functions are measured from, mV.
    - `v_threshold`: spike detection threshold (upward crossing), mV.
    - `surrogate`: spike derivative used in the backward pass.

    ??? cite "Reference"
        ```bibtex
        @book{traub1991neuronal,
          author = {Traub, Roger D. and Miles, Richard},
          title = {Neuronal Networks of the Hippocampus},
          publisher = {Cambridge University Press}, year = {1991}}
        @article{brette2007simulation,
          author = {Brette, Romain and others},
          title = {Simulation of networks of spiking neurons: A review of tools and strategies},
          journal = {Journal of Computational Neuroscience}, volume = {23}, number = {3},
          pages = {349--398}, year = {2007}, doi = {10.1007/s10827-007-0038-6}}
        ```
    """

    c_m: Parameter = 200.0
    g_leak: Parameter = 10.0
    e_leak: Parameter = -60.0
    g_na: Parameter = 20000.0
    g_k: Parameter = 6000.0
    e_na: Parameter = 50.0
    e_k: Parameter = -90.0
    v_rate_offset: Parameter = -63.0
    v_threshold: Parameter = -20.0
    surrogate: AbstractSurrogate = SuperSpike()

    def __check_init__(self):
        require_parameters(
            self,
            {
                "c_m": "pF",
                "g_leak": "nS",
                "e_leak": "mV",
                "g_na": "nS",
                "g_k": "nS",
                "e_na": "mV",
                "e_k": "mV",
                "v_rate_offset": "mV",
                "v_threshold": "mV",
            },
        )
        require_positive("c_m", self.c_m, "pF")
        require_positive("g_leak", self.g_leak, "nS")
        require_positive("g_na", self.g_na, "nS")
        require_positive("g_k", self.g_k, "nS")

    def rates(
        self, v: Float[Array, "*n"]
    ) -> tuple[
        Float[Array, "*n"],
        Float[Array, "*n"],
        Float[Array, "*n"],
        Float[Array, "*n"],
        Float[Array, "*n"],
        Float[Array, "*n"],
    ]:
        r"""$(\alpha_m, \beta_m, \alpha_h, \beta_h, \alpha_n, \beta_n)$ at `v` (mV), in 1/ms."""
        u = v - self.v_rate_offset
        alpha_m = 0.32 * 4.0 * _x_over_expm1((13.0 - u) / 4.0)
        beta_m = 0.28 * 5.0 * _x_over_expm1((u - 40.0) / 5.0)
        alpha_h = 0.128 * jnp.exp((17.0 - u) / 18.0)
        beta_h = 4.0 * jax.nn.sigmoid((u - 40.0) / 5.0)
        alpha_n = 0.032 * 5.0 * _x_over_expm1((15.0 - u) / 5.0)
        beta_n = 0.5 * jnp.exp((10.0 - u) / 40.0)
        return alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n

    def init_state(self, n: int, *, key: PRNGKeyArray) -> HodgkinHuxleyState:
        r"""As Brian2's `examples/COBAHH.py`: $v = E_L - 5 + 5\xi$ mV ($\xi \sim \mathcal{N}(0, 1)$
        per neuron, -65 ± 5 mV with the defaults); each gate at its steady state
        $\alpha / (\alpha + \beta)$ for that `v`; `above` = (`v` > `v_threshold`)."""
        v = self.e_leak - 5.0 + 5.0 * jr.normal(key, (n,))
        alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = self.rates(v)
        return HodgkinHuxleyState(
            v=v,
            m=alpha_m / (alpha_m + beta_m),
            h=alpha_h / (alpha_h + beta_h),
            n=alpha_n / (alpha_n + beta_n),
            above=(v > self.v_threshold).astype(v.dtype),
        )

    def linear_coefficients(
        self, t: TimeLike, y: HodgkinHuxleyState, args
    ) -> tuple[HodgkinHuxleyState, HodgkinHuxleyState]:
        drive = as_synaptic_input(args)
        g_na = self.g_na * y.m**3 * y.h
        g_k = self.g_k * y.n**4
        a_v = -(self.g_leak + g_na + g_k + drive.conductance) / self.c_m
        b_v = (
            self.g_leak * self.e_leak + g_na * self.e_na + g_k * self.e_k + drive.current_at_zero
        ) / self.c_m
        alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n = self.rates(y.v)
        zero = jnp.zeros_like(y.above)
        a = HodgkinHuxleyState(
            v=a_v, m=-(alpha_m + beta_m), h=-(alpha_h + beta_h), n=-(alpha_n + beta_n), above=zero
        )
        b = HodgkinHuxleyState(v=b_v, m=alpha_m, h=alpha_h, n=alpha_n, above=zero)
        return a, b

    def spike(self, y: HodgkinHuxleyState) -> Spikes:
        return spike_fn(y.v - self.v_threshold, self.surrogate) * (1.0 - y.above)

    def reset(self, y: HodgkinHuxleyState, spiked: Spikes) -> HodgkinHuxleyState:
        """No reset of `v`; `above` = (`v` > `v_threshold`), which covers `spiked` too."""
        above = (y.v > self.v_threshold).astype(y.above.dtype)
        return HodgkinHuxleyState(v=y.v, m=y.m, h=y.h, n=y.n, above=above)
