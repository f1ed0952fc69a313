"""Abstract synapse and synaptic-output contracts.

A synapse of a projection keeps its state per *postsynaptic* neuron (O(n_post) memory, as
BrainPy's post-aligned projections): the event operator delivers the summed weights of the
spikes that arrived, `on_events` adds them to the state, and `conductance(y)` reads out the
synaptic variable (nS for conductance-based outputs, pA for current-based ones). Between events
the state decays linearly, so exponential Euler is exact.
"""

import abc
from typing import TypeVar

import equinox as eqx
from jaxtyping import Array, Float

from ..neurons.base import AbstractLinearInState
from ..synaptic_input import SynapticInput

SynapseStateT = TypeVar("SynapseStateT")


class AbstractSynapse(AbstractLinearInState[SynapseStateT]):
    """Linear synaptic dynamics driven by delivered events."""

    @abc.abstractmethod
    def on_events(self, y: SynapseStateT, delivered: Float[Array, " n"]) -> SynapseStateT:
        """State after `delivered` (summed weights of arriving spikes, per neuron) arrives."""

    @abc.abstractmethod
    def value(self, y: SynapseStateT) -> Float[Array, " n"]:
        """The synaptic variable seen by the output: conductance (nS) or current (pA)."""


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

    e_rev: float | Float[Array, " n"]

    def apply(self, drive: SynapticInput, value: Float[Array, " n"]) -> SynapticInput:
        return drive.add_conductance(value, self.e_rev)
