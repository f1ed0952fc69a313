"""Abstract synapse and synaptic-output contracts.

A synapse of a projection keeps its state per *postsynaptic* neuron (O(n_post) memory, as
BrainPy's post-aligned projections): the event operator delivers the summed weights of the
spikes that arrived, `on_events` adds them to the state, and `conductance(y)` reads out the
synaptic variable (nS for conductance-based outputs, pA for current-based ones). Between events
the state evolves by the synapse's own `advance` (exact exponential decay for the linear
synapses, `AbstractLinearSynapse`; a reset to zero for `InstantaneousSynapse`).
"""

import abc
from typing import Generic, TypeVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Parameter, TimeLike
from ..._validation import require_parameter
from ..base import AbstractLinearInState, exponential_euler_step
from ..synaptic_input import SynapticInput

SynapseStateT = TypeVar("SynapseStateT")


class AbstractSynapse(eqx.Module, Generic[SynapseStateT]):
    """Synaptic state per postsynaptic neuron, driven by what the connectivity delivers.

    Within a step: `on_events` adds the delivery, the population reads `value`, then `advance`
    carries the state to the next step.
    """

    @abc.abstractmethod
    def init_state(self, n: int, *, key: PRNGKeyArray | None = None) -> SynapseStateT:
        """The state of `n` postsynaptic neurons at rest."""

    @abc.abstractmethod
    def advance(self, y: SynapseStateT, t: TimeLike, dt: TimeLike) -> SynapseStateT:
        """The state after the step `[t, t + dt)` (ms), between deliveries."""

    @abc.abstractmethod
    def on_events(self, y: SynapseStateT, delivered: Float[Array, " n"]) -> SynapseStateT:
        """State after `delivered` (summed weights of arriving spikes, per neuron) arrives."""

    @abc.abstractmethod
    def value(self, y: SynapseStateT) -> Float[Array, " n"]:
        """The synaptic variable seen by the output: conductance (nS) or current (pA)."""


class AbstractLinearSynapse(AbstractSynapse[SynapseStateT], AbstractLinearInState[SynapseStateT]):
    """A synapse whose dynamics are linear in its state: advanced exactly by exponential Euler."""

    def advance(self, y: SynapseStateT, t: TimeLike, dt: TimeLike) -> SynapseStateT:
        return exponential_euler_step(self, t, dt, y, None)


class AbstractOutput(eqx.Module):
    """How a synaptic variable enters the membrane equation."""

    @abc.abstractmethod
    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        """Add the synapse's contribution to the population's input."""


class CUBA(AbstractOutput):
    r"""Current-based output: the synaptic variable is a current, $I_\mathrm{syn} = s$ (pA)."""

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        return drive.add_current(value)


class COBA(AbstractOutput):
    r"""Conductance-based output: $I_\mathrm{syn} = g\,(E_\mathrm{rev} - v)$, $g$ in nS.

    **Fields:** `e_rev`: reversal potential, mV (0 mV excitatory, -80 mV inhibitory in the
    Vogels-Abbott benchmark).
    """

    e_rev: Parameter

    def __check_init__(self):
        require_parameter("e_rev", self.e_rev, "mV")

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        return drive.add_conductance(value, self.e_rev)
