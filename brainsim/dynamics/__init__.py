"""Neurons, synapses, surrogate spike functions and inputs: equinox modules, parameters only."""

from .astrocytes import (
    GapJunctions as GapJunctions,
    GliotransmitterRelease as GliotransmitterRelease,
    GliotransmitterReleaseState as GliotransmitterReleaseState,
    LiRinzel as LiRinzel,
    LiRinzelState as LiRinzelState,
    PresynapticReceptors as PresynapticReceptors,
    PresynapticReceptorsState as PresynapticReceptorsState,
)
from .base import (
    AbstractDynamics as AbstractDynamics,
    AbstractLinearInState as AbstractLinearInState,
    exponential_euler_step as exponential_euler_step,
)
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
    AbstractNeuron as AbstractNeuron,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AbstractValueNeuron as AbstractValueNeuron,
    AdEx as AdEx,
    AdExState as AdExState,
    ALIFState as ALIFState,
    HodgkinHuxley as HodgkinHuxley,
    HodgkinHuxleyState as HodgkinHuxleyState,
    IntegrateAndFire as IntegrateAndFire,
    IntegrateAndFireState as IntegrateAndFireState,
    Izhikevich as Izhikevich,
    IzhikevichState as IzhikevichState,
    LIFState as LIFState,
    RateState as RateState,
    RateUnit as RateUnit,
    ThresholdUnit as ThresholdUnit,
    ThresholdUnitState as ThresholdUnitState,
)
from .plasticity import (
    AbstractPlasticityRule as AbstractPlasticityRule,
    AbstractShortTermPlasticity as AbstractShortTermPlasticity,
    Hebbian as Hebbian,
    InhibitorySTDP as InhibitorySTDP,
    Oja as Oja,
    PairSTDP as PairSTDP,
    PairTraces as PairTraces,
    RateTraces as RateTraces,
    RewardModulatedSTDP as RewardModulatedSTDP,
    RewardModulatedTraces as RewardModulatedTraces,
    ScalingTraces as ScalingTraces,
    SynapticScaling as SynapticScaling,
    TripletSTDP as TripletSTDP,
    TripletTraces as TripletTraces,
    TsodyksMarkram as TsodyksMarkram,
    TsodyksMarkramState as TsodyksMarkramState,
)
from .streams import (
    SpikeSource as SpikeSource,
    StreamedCurrent as StreamedCurrent,
    ValueSource as ValueSource,
)
from .surrogate import (
    AbstractSurrogate as AbstractSurrogate,
    Arctan as Arctan,
    FastSigmoid as FastSigmoid,
    NormalizedSuperSpike as NormalizedSuperSpike,
    Sigmoid as Sigmoid,
    SuperSpike as SuperSpike,
    spike_fn as spike_fn,
)
from .synapses import (
    COBA as COBA,
    CUBA as CUBA,
    AbstractLinearSynapse as AbstractLinearSynapse,
    AbstractOutput as AbstractOutput,
    AbstractSynapse as AbstractSynapse,
    AlphaSynapse as AlphaSynapse,
    AlphaSynapseState as AlphaSynapseState,
    DualExponentialSynapse as DualExponentialSynapse,
    DualExponentialSynapseState as DualExponentialSynapseState,
    ExponentialSynapse as ExponentialSynapse,
    ExponentialSynapseState as ExponentialSynapseState,
    InstantaneousSynapse as InstantaneousSynapse,
    InstantaneousSynapseState as InstantaneousSynapseState,
)
from .synaptic_input import SynapticInput as SynapticInput
