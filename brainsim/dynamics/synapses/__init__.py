"""Synapses (state per postsynaptic neuron) and synaptic outputs."""

from .alpha import AlphaSynapse as AlphaSynapse, AlphaSynapseState as AlphaSynapseState
from .base import (
    COBA as COBA,
    CUBA as CUBA,
    AbstractLinearSynapse as AbstractLinearSynapse,
    AbstractOutput as AbstractOutput,
    AbstractSynapse as AbstractSynapse,
)
from .dual_exponential import (
    DualExponentialSynapse as DualExponentialSynapse,
    DualExponentialSynapseState as DualExponentialSynapseState,
)
from .exponential import (
    ExponentialSynapse as ExponentialSynapse,
    ExponentialSynapseState as ExponentialSynapseState,
)
from .instantaneous import (
    InstantaneousSynapse as InstantaneousSynapse,
    InstantaneousSynapseState as InstantaneousSynapseState,
)
