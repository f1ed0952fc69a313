"""Synaptic plasticity: long-term rules that change weights (`PairSTDP`, `TripletSTDP`,
`RewardModulatedSTDP`) and short-term plasticity that scales each presynaptic spike's efficacy
(`TsodyksMarkram`)."""

from .base import (
    AbstractPlasticityRule as AbstractPlasticityRule,
    AbstractShortTermPlasticity as AbstractShortTermPlasticity,
)
from .homeostatic import ScalingTraces as ScalingTraces, SynapticScaling as SynapticScaling
from .inhibitory import InhibitorySTDP as InhibitorySTDP
from .rate_based import Hebbian as Hebbian, Oja as Oja, RateTraces as RateTraces
from .short_term import TsodyksMarkram as TsodyksMarkram, TsodyksMarkramState as TsodyksMarkramState
from .stdp import (
    PairSTDP as PairSTDP,
    PairTraces as PairTraces,
    TripletSTDP as TripletSTDP,
    TripletTraces as TripletTraces,
)
from .three_factor import (
    RewardModulatedSTDP as RewardModulatedSTDP,
    RewardModulatedTraces as RewardModulatedTraces,
)
