"""Neuron models."""

from .base import (
    AbstractLinearInState as AbstractLinearInState,
    AbstractNeuron as AbstractNeuron,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
)
from .lif import LIF as LIF, LIFState as LIFState

