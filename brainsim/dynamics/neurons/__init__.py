"""Neuron models."""

from .adex import AdEx as AdEx, AdExState as AdExState
from .alif import ALIF as ALIF, ALIFState as ALIFState
from .base import (
    AbstractLinearInState as AbstractLinearInState,
    AbstractNeuron as AbstractNeuron,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AbstractValueNeuron as AbstractValueNeuron,
)
from .egru import (
    EGRUUnit as EGRUUnit,
    EGRUUnitState as EGRUUnitState,
    Gate as Gate,
    GateInput as GateInput,
)
from .elm import ELM as ELM, ELMState as ELMState, MemoryTimescales as MemoryTimescales
from .hodgkin_huxley import HodgkinHuxley as HodgkinHuxley, HodgkinHuxleyState as HodgkinHuxleyState
from .integrate_and_fire import (
    IntegrateAndFire as IntegrateAndFire,
    IntegrateAndFireState as IntegrateAndFireState,
)
from .izhikevich import Izhikevich as Izhikevich, IzhikevichState as IzhikevichState
from .lif import LIF as LIF, LIFState as LIFState
from .lmu import (
    LegendreMemory as LegendreMemory,
    LMUInput as LMUInput,
    LMUUnit as LMUUnit,
    LMUUnitState as LMUUnitState,
    MemoryEncoder as MemoryEncoder,
)
from .rate import RateState as RateState, RateUnit as RateUnit
from .threshold import ThresholdUnit as ThresholdUnit, ThresholdUnitState as ThresholdUnitState
from .two_compartment import (
    Apical as Apical,
    DendriticInput as DendriticInput,
    TwoCompartmentLIF as TwoCompartmentLIF,
    TwoCompartmentLIFState as TwoCompartmentLIFState,
)
