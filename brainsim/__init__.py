"""brainsim: a differentiable brain simulator in JAX.

The public API is flat: `bs.LIF`, `bs.Network`, `bs.run`, `bs.simulate`, `bs.FixedProbability`,
... Subpackages `bs.models`, `bs.analysis` and `bs.hardware` are namespaces; `analysis` and
`hardware` (matplotlib, pymetis) are imported on first use.
"""

import importlib
import importlib.metadata

from . import models as models
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
    AbstractDynamics as AbstractDynamics,
    AbstractEventInput as AbstractEventInput,
    AbstractLinearInState as AbstractLinearInState,
    AbstractLinearSynapse as AbstractLinearSynapse,
    AbstractNeuron as AbstractNeuron,
    AbstractOutput as AbstractOutput,
    AbstractPlasticityRule as AbstractPlasticityRule,
    AbstractShortTermPlasticity as AbstractShortTermPlasticity,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AbstractSurrogate as AbstractSurrogate,
    AbstractSynapse as AbstractSynapse,
    AbstractValueNeuron as AbstractValueNeuron,
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
    InstantaneousSynapse as InstantaneousSynapse,
    InstantaneousSynapseState as InstantaneousSynapseState,
    IntegrateAndFire as IntegrateAndFire,
    IntegrateAndFireState as IntegrateAndFireState,
    Izhikevich as Izhikevich,
    IzhikevichState as IzhikevichState,
    LIFState as LIFState,
    NormalizedSuperSpike as NormalizedSuperSpike,
    PairSTDP as PairSTDP,
    PairTraces as PairTraces,
    PoissonInput as PoissonInput,
    RateState as RateState,
    RateUnit as RateUnit,
    Sigmoid as Sigmoid,
    SpikeSource as SpikeSource,
    SpikeTimes as SpikeTimes,
    StreamedCurrent as StreamedCurrent,
    SuperSpike as SuperSpike,
    SynapticInput as SynapticInput,
    ThresholdUnit as ThresholdUnit,
    ThresholdUnitState as ThresholdUnitState,
    TripletSTDP as TripletSTDP,
    TripletTraces as TripletTraces,
    TsodyksMarkram as TsodyksMarkram,
    TsodyksMarkramState as TsodyksMarkramState,
    ValueSource as ValueSource,
    spike_fn as spike_fn,
)
from .fused import FusedPlan as FusedPlan, fused_plan as fused_plan
from .graph import (
    ProjectionGraph as ProjectionGraph,
    SynapseGraph as SynapseGraph,
    synapse_graph as synapse_graph,
)
from .integrate import (
    AbstractStepper as AbstractStepper,
    DiffraxStepper as DiffraxStepper,
    ExponentialEuler as ExponentialEuler,
    spike_times as spike_times,
)
from .monitors import AbstractMonitor as AbstractMonitor, Monitor as Monitor, StateMonitor as StateMonitor
from .network import (
    InputState as InputState,
    Network as Network,
    NetworkState as NetworkState,
    Population as Population,
    PopulationState as PopulationState,
    Projection as Projection,
    ProjectionState as ProjectionState,
    StepRecord as StepRecord,
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
from .run import RunResult as RunResult, run as run
from .simulate import NonFiniteStateError as NonFiniteStateError, simulate as simulate

# The public API: every name below is documented in docs/api/ (tests/test_docs.py checks it).
__all__ = [
    # subpackages (namespaces)
    "models",
    "analysis",
    "hardware",
    "io",
    # the flat API
    "AbstractConnectivity",
    "AbstractConnectivityRule",
    "AbstractCurrentInput",
    "AbstractDelayRule",
    "AbstractDynamics",
    "AbstractEventInput",
    "AbstractLinearInState",
    "AbstractLinearSynapse",
    "AbstractMonitor",
    "AbstractNeuron",
    "AbstractOutput",
    "AbstractSpikingNeuron",
    "AbstractStepper",
    "AbstractSurrogate",
    "AbstractSynapse",
    "AbstractValueNeuron",
    "AdEx",
    "AdExState",
    "ALIF",
    "ALIFState",
    "AllToAll",
    "AlphaSynapse",
    "AlphaSynapseState",
    "Arctan",
    "COBA",
    "ConstantCurrent",
    "ConstantDelay",
    "CSR",
    "CUBA",
    "CurrentFunction",
    "Dense",
    "DiffraxStepper",
    "DistanceDelay",
    "DualExponentialSynapse",
    "DualExponentialSynapseState",
    "ELL",
    "event_matmat",
    "event_matvec",
    "ExponentialEuler",
    "ExponentialSynapse",
    "ExponentialSynapseState",
    "FastSigmoid",
    "FixedInDegree",
    "FixedOutDegree",
    "FixedProbability",
    "FromArrays",
    "fused_plan",
    "FusedPlan",
    "HodgkinHuxley",
    "HodgkinHuxleyState",
    "InputState",
    "InstantaneousSynapse",
    "InstantaneousSynapseState",
    "Izhikevich",
    "IzhikevichState",
    "LIF",
    "LIFState",
    "Monitor",
    "Network",
    "NetworkState",
    "NonFiniteStateError",
    "NormalizedSuperSpike",
    "OneToOne",
    "PoissonInput",
    "Population",
    "PopulationState",
    "Procedural",
    "Projection",
    "ProjectionGraph",
    "ProjectionState",
    "RateState",
    "RateUnit",
    "run",
    "RunResult",
    "Sigmoid",
    "simulate",
    "SimulationResult",
    "spike_fn",
    "spike_times",
    "SpikeRecord",
    "SpikeSource",
    "SpikeTimes",
    "StateMonitor",
    "AbstractPlasticityRule",
    "AbstractShortTermPlasticity",
    "IntegrateAndFire",
    "IntegrateAndFireState",
    "PairSTDP",
    "PairTraces",
    "ThresholdUnit",
    "ThresholdUnitState",
    "TripletSTDP",
    "TripletTraces",
    "TsodyksMarkram",
    "TsodyksMarkramState",
    "StepRecord",
    "StreamedCurrent",
    "SuperSpike",
    "synapse_graph",
    "SynapseGraph",
    "SynapticInput",
    "UniformDelay",
    "ValueSource",
]

__version__ = importlib.metadata.version("brainsim")

_LAZY_SUBPACKAGES = ("analysis", "hardware", "io")


def __getattr__(name: str):
    """Import `analysis` and `hardware` on first use (they pull in matplotlib and pymetis)."""
    if name in _LAZY_SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'brainsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY_SUBPACKAGES))
