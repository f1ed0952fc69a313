"""Neurons, synapses, surrogate spike functions and inputs: equinox modules, parameters only."""

from .inputs import (
    AbstractCurrentInput as AbstractCurrentInput,
    AbstractEventInput as AbstractEventInput,
    ConstantCurrent as ConstantCurrent,
    CurrentFunction as CurrentFunction,
    PoissonInput as PoissonInput,
    SpikeTimes as SpikeTimes,
)
from .neurons import (
    ALIF as ALIF,
    LIF as LIF,
    AbstractLinearInState as AbstractLinearInState,
    AbstractNeuron as AbstractNeuron,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AdEx as AdEx,
    AdExState as AdExState,
    ALIFState as ALIFState,
    HodgkinHuxley as HodgkinHuxley,
    HodgkinHuxleyState as HodgkinHuxleyState,
    Izhikevich as Izhikevich,
    IzhikevichState as IzhikevichState,
    LIFState as LIFState,
)
from .surrogate import (
    AbstractSurrogate as AbstractSurrogate,
    Arctan as Arctan,
    FastSigmoid as FastSigmoid,
    Sigmoid as Sigmoid,
    SuperSpike as SuperSpike,
    spike_fn as spike_fn,
)
from .synapses import (
    COBA as COBA,
    CUBA as CUBA,
    AbstractOutput as AbstractOutput,
    AbstractSynapse as AbstractSynapse,
    AlphaSynapse as AlphaSynapse,
    AlphaSynapseState as AlphaSynapseState,
    DualExponentialSynapse as DualExponentialSynapse,
    DualExponentialSynapseState as DualExponentialSynapseState,
    ExponentialSynapse as ExponentialSynapse,
    ExponentialSynapseState as ExponentialSynapseState,
)
from .synaptic_input import SynapticInput as SynapticInput
