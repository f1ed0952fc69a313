r"""Spike-timing-dependent plasticity with per-neuron traces: pair-based and triplet rules.

Traces are dimensionless, kept per neuron, and decay exactly over a step
($x \leftarrow x\,e^{-\Delta t/\tau}$), so a pairing at $\Delta t = k\,\Delta t_\mathrm{step}$
reads exactly $e^{-k \Delta t_\mathrm{step}/\tau}$: the discrete rule samples the analytic window.
"""

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import _concrete, require_finite, require_nonnegative, require_positive
from .base import AbstractPlasticityRule

Pairing = Literal["all", "nearest"]
_PAIRINGS = ("all", "nearest")


class PairTraces(eqx.Module):
    """`pre`: presynaptic trace $x$, shape `(n_pre,)`; `post`: postsynaptic trace $y$, shape
    `(n_post,)`; both dimensionless."""

    pre: Float[Array, " n_pre"]
    post: Float[Array, " n_post"]


class PairSTDP(AbstractPlasticityRule):
    r"""Pair-based STDP (Song, Miller & Abbott 2000; Morrison, Diesmann & Gerstner 2008).

    Traces $\tau_+ \dot x_i = -x_i$, $\tau_- \dot y_j = -y_j$. At a presynaptic spike of $i$:
    $w_{ij} \leftarrow w_{ij} - A_-\, y_j\, f_-(w_{ij})$, then $x_i \leftarrow x_i + 1$
    (`pairing="all"`: all-to-all) or $x_i \leftarrow 1$ (`"nearest"`: each spike pairs with the
    nearest preceding spike of the other neuron). At a postsynaptic spike of $j$:
    $w_{ij} \leftarrow w_{ij} + A_+\, x_i\, f_+(w_{ij})$, then $y_j \leftarrow y_j + 1$ (or 1).
    One pairing at $\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ changes the weight by
    $A_+ e^{-\Delta t/\tau_+}$ for $\Delta t \ge 0$ and $-A_- e^{\Delta t/\tau_-}$ for
    $\Delta t < 0$.

    `bound="hard"` (additive): $f_\pm = 1$, weights clipped to $[w_\min, w_\max]$.
    `bound="soft"` (multiplicative): $f_+ = (w_\max - w)/(w_\max - w_\min)$,
    $f_- = (w - w_\min)/(w_\max - w_\min)$, so changes shrink near the bounds.

    **Fields:**
    - `a_plus`, `a_minus`: potentiation and depression amplitudes, in the weight unit (nS or
      pA), >= 0.
    - `tau_plus`, `tau_minus`: trace time constants, ms, > 0.
    - `w_min`, `w_max`: weight bounds (nS or pA), `w_min <= w_max`.
    - `pairing`: `"all"` or `"nearest"`.
    - `bound`: `"hard"` or `"soft"`.
    """

    a_plus: Float[Array, ""] | float = 0.01
    a_minus: Float[Array, ""] | float = 0.0105
    tau_plus: Float[Array, ""] | float = 20.0
    tau_minus: Float[Array, ""] | float = 20.0
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 1.0
    pairing: Pairing = eqx.field(default="all", static=True)
    bound: Literal["hard", "soft"] = eqx.field(default="hard", static=True)

    def __check_init__(self):
        _check_amplitudes(self, ("a_plus", "a_minus"))
        _check_time_constants(self, ("tau_plus", "tau_minus"))
        _check_bounds(self)
        _check_choice("pairing", self.pairing, _PAIRINGS)
        _check_choice("bound", self.bound, ("hard", "soft"))

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> PairTraces:
        dtype = jnp.result_type(float)
        return PairTraces(jnp.zeros(n_pre, dtype), jnp.zeros(n_post, dtype))

    def decay(self, state: PairTraces, dt: float) -> PairTraces:
        return PairTraces(fade(state.pre, self.tau_plus, dt), fade(state.post, self.tau_minus, dt))

    def on_pre(self, state, w, pre, post):
        return -self.a_minus * state.post[post] * _depression_factor(self, w)

    def count_pre(self, state, spikes):
        return PairTraces(_count(state.pre, spikes, self.pairing), state.post)

    def on_post(self, state, w, pre, post):
        return self.a_plus * state.pre[pre] * _potentiation_factor(self, w)

    def count_post(self, state, spikes):
        return PairTraces(state.pre, _count(state.post, spikes, self.pairing))


class TripletTraces(eqx.Module):
    """`r1`, `r2`: presynaptic traces (time constants $\\tau_+$, $\\tau_x$), shape `(n_pre,)`;
    `o1`, `o2`: postsynaptic traces ($\\tau_-$, $\\tau_y$), shape `(n_post,)`; dimensionless."""

    r1: Float[Array, " n_pre"]
    r2: Float[Array, " n_pre"]
    o1: Float[Array, " n_post"]
    o2: Float[Array, " n_post"]


class TripletSTDP(AbstractPlasticityRule):
    r"""Triplet STDP (Pfister & Gerstner 2006, J. Neurosci. 26:9673).

    Presynaptic traces $r_1$ ($\tau_+$), $r_2$ ($\tau_x$); postsynaptic $o_1$ ($\tau_-$),
    $o_2$ ($\tau_y$). At a presynaptic spike:
    $w \leftarrow w - o_1 (A_2^- + A_3^- r_2(t - \epsilon))$, then $r_1, r_2$ count the spike.
    At a postsynaptic spike: $w \leftarrow w + r_1 (A_2^+ + A_3^+ o_2(t - \epsilon))$, then
    $o_1, o_2$ count it. Counting adds 1 (`pairing="all"`, the all-to-all model) or sets the
    trace to 1 (`"nearest"`, the nearest-spike model). Additive, clipped to `[w_min, w_max]`.

    The published fits to visual cortex (Sjöström et al. 2001) are
    `TripletSTDP.visual_cortex("all")` and `TripletSTDP.visual_cortex("nearest")`; their
    amplitudes are relative to a weight of 1, so scale them by your weight unit.

    **Fields:**
    - `a2_plus`, `a3_plus`, `a2_minus`, `a3_minus`: pair and triplet amplitudes (weight unit), >= 0.
    - `tau_plus`, `tau_minus`, `tau_x`, `tau_y`: trace time constants, ms, > 0.
    - `w_min`, `w_max`: weight bounds, `w_min <= w_max`.
    - `pairing`: `"all"` or `"nearest"`.
    """

    a2_plus: Float[Array, ""] | float
    a3_plus: Float[Array, ""] | float
    a2_minus: Float[Array, ""] | float
    a3_minus: Float[Array, ""] | float
    tau_plus: Float[Array, ""] | float = 16.8
    tau_minus: Float[Array, ""] | float = 33.7
    tau_x: Float[Array, ""] | float = 101.0
    tau_y: Float[Array, ""] | float = 125.0
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 1.0
    pairing: Pairing = eqx.field(default="all", static=True)

    def __check_init__(self):
        _check_amplitudes(self, ("a2_plus", "a3_plus", "a2_minus", "a3_minus"))
        _check_time_constants(self, ("tau_plus", "tau_minus", "tau_x", "tau_y"))
        _check_bounds(self)
        _check_choice("pairing", self.pairing, _PAIRINGS)

    @classmethod
    def visual_cortex(cls, pairing: Pairing = "all", **overrides) -> "TripletSTDP":
        """The minimal models fitted to visual-cortex data in Pfister & Gerstner 2006 (Table 4):
        all-to-all ($A_2^+ = 5 \\times 10^{-10}$, $A_3^+ = 6.2 \\times 10^{-3}$,
        $A_2^- = 7 \\times 10^{-3}$, $A_3^- = 2.3 \\times 10^{-4}$, $\\tau_x = 101$ ms,
        $\\tau_y = 125$ ms) or nearest-spike ($8.8 \\times 10^{-11}$, $5.3 \\times 10^{-2}$,
        $6.6 \\times 10^{-3}$, $3.1 \\times 10^{-3}$, 714 ms, 40 ms); $\\tau_+ = 16.8$ ms,
        $\\tau_- = 33.7$ ms in both."""
        _check_choice("pairing", pairing, _PAIRINGS)
        fitted = {
            "all": dict(
                a2_plus=5e-10, a3_plus=6.2e-3, a2_minus=7e-3, a3_minus=2.3e-4, tau_x=101.0, tau_y=125.0
            ),
            "nearest": dict(
                a2_plus=8.8e-11, a3_plus=5.3e-2, a2_minus=6.6e-3, a3_minus=3.1e-3, tau_x=714.0, tau_y=40.0
            ),
        }[pairing]
        return cls(**{**fitted, "tau_plus": 16.8, "tau_minus": 33.7, "pairing": pairing, **overrides})

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> TripletTraces:
        dtype = jnp.result_type(float)
        return TripletTraces(
            jnp.zeros(n_pre, dtype),
            jnp.zeros(n_pre, dtype),
            jnp.zeros(n_post, dtype),
            jnp.zeros(n_post, dtype),
        )

    def decay(self, state: TripletTraces, dt: float) -> TripletTraces:
        return TripletTraces(
            fade(state.r1, self.tau_plus, dt),
            fade(state.r2, self.tau_x, dt),
            fade(state.o1, self.tau_minus, dt),
            fade(state.o2, self.tau_y, dt),
        )

    def on_pre(self, state, w, pre, post):
        return -state.o1[post] * (self.a2_minus + self.a3_minus * state.r2[pre])

    def count_pre(self, state, spikes):
        return TripletTraces(
            _count(state.r1, spikes, self.pairing), _count(state.r2, spikes, self.pairing), state.o1, state.o2
        )

    def on_post(self, state, w, pre, post):
        return state.r1[pre] * (self.a2_plus + self.a3_plus * state.o2[post])

    def count_post(self, state, spikes):
        return TripletTraces(
            state.r1, state.r2, _count(state.o1, spikes, self.pairing), _count(state.o2, spikes, self.pairing)
        )


def fade(trace: Float[Array, " n"], tau, dt) -> Float[Array, " n"]:
    r"""A trace one step later: $x\,e^{-\Delta t/\tau}$ (exact for $\tau \dot x = -x$)."""
    return trace * jnp.exp(-dt / jnp.asarray(tau, trace.dtype))


def _count(trace, spikes, pairing: str):
    """Add the spikes (all-to-all) or reset the trace to the spike value (nearest)."""
    spikes = spikes.astype(trace.dtype)
    if pairing == "all":
        return trace + spikes
    return jnp.where(spikes != 0, spikes, trace)


def _potentiation_factor(rule: PairSTDP, w):
    if rule.bound == "hard":
        return 1.0
    return (rule.w_max - w) / (rule.w_max - rule.w_min)


def _depression_factor(rule: PairSTDP, w):
    if rule.bound == "hard":
        return 1.0
    return (w - rule.w_min) / (rule.w_max - rule.w_min)


def _check_amplitudes(rule, names):
    for name in names:
        _check_scalar(name, getattr(rule, name))
        require_nonnegative(name, getattr(rule, name))


def _check_time_constants(rule, names):
    for name in names:
        _check_scalar(name, getattr(rule, name))
        require_positive(name, getattr(rule, name), "ms")


def _check_bounds(rule):
    for name in ("w_min", "w_max"):
        _check_scalar(name, getattr(rule, name))
        require_finite(name, getattr(rule, name))
    low, high = _concrete(rule.w_min), _concrete(rule.w_max)
    if low is None or high is None:  # traced under jit/vmap: checked where concrete
        return
    if not low <= high:
        raise ValueError(f"`w_min` must be <= `w_max`; got {float(low)} and {float(high)}.")
    if getattr(rule, "bound", "hard") == "soft" and low == high:
        raise ValueError("`bound='soft'` needs `w_min` < `w_max` (the factors divide by their difference).")


def _check_scalar(name, value):
    if jnp.ndim(value) != 0:
        raise ValueError(
            f"`{name}` must be a scalar (one value per projection); got shape {jnp.shape(value)}."
        )


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; got {value!r}.")
