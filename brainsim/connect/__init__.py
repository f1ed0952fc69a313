"""Connectivity rules (`FixedProbability`, `FixedInDegree`, ...) building `brainsim.ops` formats."""

from .builders import (
    AbstractConnectivityRule as AbstractConnectivityRule,
    AllToAll as AllToAll,
    FixedInDegree as FixedInDegree,
    FixedOutDegree as FixedOutDegree,
    FixedProbability as FixedProbability,
    FromArrays as FromArrays,
    OneToOne as OneToOne,
)
from .delays import (
    AbstractDelayRule as AbstractDelayRule,
    ConstantDelay as ConstantDelay,
    DistanceDelay as DistanceDelay,
    UniformDelay as UniformDelay,
)
