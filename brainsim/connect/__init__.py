"""Connectivity rules (`FixedProbability`, `FixedInDegree`, ...) that build formats from `brainsim.ops`."""

from .builders import (
    AbstractConnectivityRule as AbstractConnectivityRule,
    AllToAll as AllToAll,
    FixedInDegree as FixedInDegree,
    FixedOutDegree as FixedOutDegree,
    FixedProbability as FixedProbability,
    FromArrays as FromArrays,
    OneToOne as OneToOne,
)
