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
4. Rules with a clock (`clock_steps()` = $c$ > 0) then, in steps $k \equiv 0 \pmod c$, update
   every synapse at once with `on_clock` over the interval $c\,\Delta t$ (eligibility traces
   turned into weight changes, Oja's rule, homeostatic scaling): O(synapses / c) per step.

What the events move is the weights (`updates = "weights"`, clipped to `[w_min, w_max]` after
each move) or a per-synapse eligibility trace (`updates = "eligibility"`, unbounded, in the
rule's state) that `on_clock` turns into weight changes. A spike value $s$ other than 1 (a
surrogate spike in the backward pass) scales the move, so gradients reach the neurons. Rules
of rates rather than spikes set `event_driven = False`: only their traces and clock run.

**Short-term plasticity** (`AbstractShortTermPlasticity`) keeps state per presynaptic neuron
and turns the spikes that arrive at a projection into released amounts (the efficacy of each
spike, a factor on its weights).
"""

import abc
from typing import Any, ClassVar, Literal

import equinox as eqx
from jaxtyping import Array, Float, Int


class AbstractPlasticityRule(eqx.Module):
    """A long-term plasticity rule: parameters as fields, traces in a state pytree.

    **Fields:** `w_min`, `w_max`: weight bounds, in the projection's weight unit (nS or pA).
    """

    w_min: eqx.AbstractVar[Any]
    w_max: eqx.AbstractVar[Any]

    updates: ClassVar[Literal["weights", "eligibility"]] = "weights"
    """What the spike events move: the weights, or the state's per-synapse `eligibility`."""
    event_driven: ClassVar[bool] = True
    """Whether spikes move synapses (`on_pre`, `on_post`); `False` for rules of rates."""
    def clock_steps(self) -> int:
        """Steps between calls of `on_clock`; 0 (the default): the rule has no clock."""
        return 0

    @abc.abstractmethod
    def init_state(self, n_pre: int, n_post: int, synapse_shape: tuple[int, ...]) -> Any:
        """The state at rest for `n_pre` presynaptic and `n_post` postsynaptic neurons; rules
        with per-synapse state (an eligibility trace) give it the weights' `synapse_shape`."""

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

    def on_clock(
        self,
        state,
        weights: Float[Array, " synapses"],
        pre: Int[Array, " synapses"],
        post: Int[Array, " synapses"],
        learning_rate: Float[Array, "..."],
        interval: float,
    ) -> tuple[Any, Float[Array, " synapses"]]:
        """`(state, weights)` after the clock's update over `interval` ms; `weights`, `pre` and
        `post` are flat over the stored synapses, `learning_rate` a scalar or per synapse (the
        `ScaleLearningRate` factor of each synapse's postsynaptic neuron; 1 without one)."""
        raise NotImplementedError(f"{type(self).__name__} has a clock but no `on_clock`.")


class AbstractShortTermPlasticity(eqx.Module):
    """Short-term plasticity: per presynaptic neuron state that scales each spike's efficacy."""

    @abc.abstractmethod
    def init_state(self, n_pre: int) -> Any:
        """The state at rest for `n_pre` presynaptic neurons."""

    @abc.abstractmethod
    def release(self, state, spikes: Float[Array, " n_pre"], dt: float) -> tuple[Any, Float[Array, " n_pre"]]:
        """`(state, released)`: the state advanced over one step of `dt` (ms) in which `spikes`
        arrive, and per presynaptic neuron the spike times its efficacy (0 without a spike)."""
