"""Connectivity rules (`FixedProbability`, `FixedInDegree`, ...) building `brainsim.ops` formats."""

from .astrocytes import (
    AstrocyteDomains as AstrocyteDomains,
    Tripartite as Tripartite,
    grid_neighbours as grid_neighbours,
    ring_neighbours as ring_neighbours,
)
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
