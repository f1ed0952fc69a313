r"""The plasticity contracts.

**Long-term rules** (`AbstractPlasticityRule`) change per-synapse weights when a neuron spikes,
through traces kept per neuron (never per synapse), so a step costs O(spiking neurons x their
synapses). One step of a rule, in order (the order of Brian2's `on_pre` before `on_post`):

1. `decay(state, dt)`: every trace decays over the step, exactly.
2. At each presynaptic spike, each of its synapses moves by `on_pre(state, w, pre, post)`
   (typically depression, reading postsynaptic traces), then `count_pre` adds the spikes to
   the presynaptic traces.
3. At each postsynaptic spike, each of its synapses moves by `on_post(state, w, pre, post)`
   (typically potentiation, reading presynaptic traces, which now include this step's spikes:
   a pre and a post spike in the same step count as a pairing with $\Delta t = 0^+$), then
   `count_post` adds the spikes to the postsynaptic traces.

Weights are clipped to `[w_min, w_max]` after each move. A spike value $s$ other than 1 (a
surrogate spike in the backward pass) scales the move, so gradients reach the neurons.

**Short-term plasticity** (`AbstractShortTermPlasticity`) keeps state per presynaptic neuron
and turns the spikes that arrive at a projection into released amounts (the efficacy of each
spike, a factor on its weights).
"""

import abc
from typing import Any

import equinox as eqx
from jaxtyping import Array, Float, Int


class AbstractPlasticityRule(eqx.Module):
    """A long-term plasticity rule: parameters as fields, traces in a state pytree.

    **Fields:** `w_min`, `w_max`: weight bounds, in the projection's weight unit (nS or pA).
    """

    w_min: eqx.AbstractVar[Any]
    w_max: eqx.AbstractVar[Any]

    @abc.abstractmethod
    def init_state(self, n_pre: int, n_post: int) -> Any:
        """Traces at rest for `n_pre` presynaptic and `n_post` postsynaptic neurons."""

    @abc.abstractmethod
    def decay(self, state, dt: float) -> Any:
        """The traces one step of `dt` (ms) later, without spikes."""

    @abc.abstractmethod
    def on_pre(
        self, state, w: Float[Array, "*s"], pre: Int[Array, "*s"], post: Int[Array, "*s"]
    ) -> Float[Array, "*s"]:
        """Weight change of synapses `pre -> post` (weights `w`) at a presynaptic spike."""

    @abc.abstractmethod
    def count_pre(self, state, spikes: Float[Array, " n_pre"]) -> Any:
        """The traces after this step's presynaptic spikes."""

    @abc.abstractmethod
    def on_post(
        self, state, w: Float[Array, "*s"], pre: Int[Array, "*s"], post: Int[Array, "*s"]
    ) -> Float[Array, "*s"]:
        """Weight change of synapses `pre -> post` (weights `w`) at a postsynaptic spike."""

    @abc.abstractmethod
    def count_post(self, state, spikes: Float[Array, " n_post"]) -> Any:
        """The traces after this step's postsynaptic spikes."""


class AbstractShortTermPlasticity(eqx.Module):
    """Short-term plasticity: per presynaptic neuron state that scales each spike's efficacy."""

    @abc.abstractmethod
    def init_state(self, n_pre: int) -> Any:
        """The state at rest for `n_pre` presynaptic neurons."""

    @abc.abstractmethod
    def release(self, state, spikes: Float[Array, " n_pre"], dt: float) -> tuple[Any, Float[Array, " n_pre"]]:
        """`(state, released)`: the state advanced over one step of `dt` (ms) in which `spikes`
        arrive, and per presynaptic neuron the spike times its efficacy (0 without a spike)."""
