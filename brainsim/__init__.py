"""brainsim: a differentiable brain simulator in JAX.

The public API is flat: `bs.LIF`, `bs.Network`, `bs.simulate`, `bs.FixedProbability`, ...
Subpackages `bs.models`, `bs.analysis` and `bs.hardware` are namespaces.
"""

import importlib.metadata

from . import analysis as analysis, hardware as hardware, models as models
from .connect import (
    AbstractConnectivityRule as AbstractConnectivityRule,
    AbstractDelayRule as AbstractDelayRule,
    AllToAll as AllToAll,
    ConstantDelay as ConstantDelay,
    DistanceDelay as DistanceDelay,
    FixedInDegree as FixedInDegree,
    FixedOutDegree as FixedOutDegree,
    FixedProbability as FixedProbability,
    FromArrays as FromArrays,
    OneToOne as OneToOne,
    UniformDelay as UniformDelay,
)
from .dynamics import (
    ALIF as ALIF,
    COBA as COBA,
    CUBA as CUBA,
    LIF as LIF,
    AbstractCurrentInput as AbstractCurrentInput,
    AbstractEventInput as AbstractEventInput,
    AbstractLinearInState as AbstractLinearInState,
    AbstractNeuron as AbstractNeuron,
    AbstractOutput as AbstractOutput,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AbstractSurrogate as AbstractSurrogate,
    AbstractSynapse as AbstractSynapse,
    AdEx as AdEx,
    AdExState as AdExState,
    ALIFState as ALIFState,
    AlphaSynapse as AlphaSynapse,
    AlphaSynapseState as AlphaSynapseState,
    Arctan as Arctan,
    ConstantCurrent as ConstantCurrent,
    CurrentFunction as CurrentFunction,
    DualExponentialSynapse as DualExponentialSynapse,
    DualExponentialSynapseState as DualExponentialSynapseState,
    ExponentialSynapse as ExponentialSynapse,
    ExponentialSynapseState as ExponentialSynapseState,
    FastSigmoid as FastSigmoid,
    HodgkinHuxley as HodgkinHuxley,
    HodgkinHuxleyState as HodgkinHuxleyState,
    Izhikevich as Izhikevich,
    IzhikevichState as IzhikevichState,
    LIFState as LIFState,
    PoissonInput as PoissonInput,
    Sigmoid as Sigmoid,
    SpikeTimes as SpikeTimes,
    SuperSpike as SuperSpike,
    SynapticInput as SynapticInput,
    spike_fn as spike_fn,
)
from .fused import FusedPlan as FusedPlan, fused_plan as fused_plan
from .graph import ProjectionGraph as ProjectionGraph, SynapseGraph as SynapseGraph
from .integrate import (
    AbstractStepper as AbstractStepper,
    DiffraxStepper as DiffraxStepper,
    ExponentialEuler as ExponentialEuler,
    spike_times as spike_times,
)
from .monitors import StateMonitor as StateMonitor
from .network import (
    Network as Network,
    NetworkState as NetworkState,
    Population as Population,
    Projection as Projection,
)
from .ops import (
    CSR as CSR,
    ELL as ELL,
    AbstractConnectivity as AbstractConnectivity,
    Dense as Dense,
    Procedural as Procedural,
    event_matmat as event_matmat,
    event_matvec as event_matvec,
)
from .result import SimulationResult as SimulationResult, SpikeRecord as SpikeRecord
from .simulate import NonFiniteStateError as NonFiniteStateError, simulate as simulate

__version__ = importlib.metadata.version("brainsim")
