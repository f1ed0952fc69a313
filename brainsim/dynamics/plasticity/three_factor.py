r"""Three-factor plasticity: STDP tags synapses with an eligibility trace, a neuromodulator
turns the tags into weight changes (Izhikevich 2007, Cereb. Cortex 17:2443)."""

from typing import ClassVar, Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._validation import require_positive_int
from .base import AbstractPlasticityRule
from .stdp import _check_amplitudes, _check_bounds, _check_time_constants, fade


class RewardModulatedTraces(eqx.Module):
    """`pre`, `post`: pair traces (dimensionless), shapes `(n_pre,)` and `(n_post,)`;
    `eligibility`: per synapse $c$, in the weight unit, shaped like the weights."""

    pre: Float[Array, " n_pre"]
    post: Float[Array, " n_post"]
    eligibility: Float[Array, "*stored"]


class RewardModulatedSTDP(AbstractPlasticityRule):
    r"""Reward-modulated STDP (Izhikevich 2007): pair STDP writes into a per-synapse eligibility
    trace $c_{ij}$ instead of the weight, and a neuromodulator $d(t)$ (dopamine, reward) turns
    it into weight changes:

    $$\dot c_{ij} = -\frac{c_{ij}}{\tau_c} + \mathrm{STDP}_{ij}(t), \qquad
    \dot w_{ij} = d(t)\, c_{ij},$$

    with $\mathrm{STDP}$ the pair rule of `PairSTDP` (amplitudes $A_\pm$, traces $\tau_\pm$,
    all-to-all). $d$ (1/ms) is the factor of a `ScaleLearningRate` coupling from the modulating
    population (e.g. `baseline=0`, `gain` converting its output to 1/ms), per postsynaptic
    neuron or global; without a coupling $d = 1$/ms.

    The tags are event-driven (a spike touches only its row or column); the decay of $c$ and
    the weight change run on the rule's clock, every `clock` steps $T = $ `clock` $\Delta t$:
    $w \leftarrow w + d\, c\, T$, then $c \leftarrow c\, e^{-T/\tau_c}$, O(synapses / `clock`)
    per step, exact as $T/\tau_c \to 0$ (relative error $\approx T/(2\tau_c)$).

    **Fields:**
    - `a_plus`, `a_minus`: STDP amplitudes written into $c$, weight unit, >= 0.
    - `tau_plus`, `tau_minus`: pair trace time constants, ms, > 0.
    - `tau_c`: eligibility time constant, ms, > 0 (Izhikevich: 1,000 ms).
    - `w_min`, `w_max`: weight bounds, `w_min <= w_max`.
    - `clock`: steps between eligibility decays and weight changes, >= 1.
    """

    a_plus: Float[Array, ""] | float = 1.0
    a_minus: Float[Array, ""] | float = 1.5
    tau_plus: Float[Array, ""] | float = 20.0
    tau_minus: Float[Array, ""] | float = 20.0
    tau_c: Float[Array, ""] | float = 1000.0
    w_min: Float[Array, ""] | float = 0.0
    w_max: Float[Array, ""] | float = 4.0
    clock: int = eqx.field(static=True, default=10)

    updates: ClassVar[Literal["weights", "eligibility"]] = "eligibility"
    event_driven: ClassVar[bool] = True

    def __check_init__(self):
        _check_amplitudes(self, ("a_plus", "a_minus"))
        _check_time_constants(self, ("tau_plus", "tau_minus", "tau_c"))
        _check_bounds(self)
        require_positive_int("clock", self.clock)

    def clock_steps(self) -> int:
        return self.clock

    def init_state(self, n_pre: int, n_post: int, synapse_shape=()) -> RewardModulatedTraces:
        dtype = jnp.result_type(float)
        return RewardModulatedTraces(
            jnp.zeros(n_pre, dtype), jnp.zeros(n_post, dtype), jnp.zeros(synapse_shape, dtype)
        )

    def decay(self, state, dt):
        return RewardModulatedTraces(
            fade(state.pre, self.tau_plus, dt), fade(state.post, self.tau_minus, dt), state.eligibility
        )

    def on_pre(self, state, c, pre, post):
        return -self.a_minus * state.post[post]

    def count_pre(self, state, spikes):
        return RewardModulatedTraces(
            state.pre + spikes.astype(state.pre.dtype), state.post, state.eligibility
        )

    def on_post(self, state, c, pre, post):
        return self.a_plus * state.pre[pre]

    def count_post(self, state, spikes):
        return RewardModulatedTraces(
            state.pre, state.post + spikes.astype(state.post.dtype), state.eligibility
        )

    def on_clock(self, state, weights, pre, post, learning_rate, interval):
        c = state.eligibility.reshape(-1)
        weights = weights + learning_rate * c * interval
        decayed = state.eligibility * jnp.exp(-interval / jnp.asarray(self.tau_c, c.dtype))
        return RewardModulatedTraces(state.pre, state.post, decayed), weights
