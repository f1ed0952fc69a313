"""Shared jaxtyping aliases (as `diffrax/_custom_types.py`)."""

from typing import TypeAlias

from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

Parameter: TypeAlias = float | Float[ArrayLike, "..."]
"""A model parameter: a Python float, or an array broadcastable to the population, shape `(n,)`."""

Spikes: TypeAlias = Float[Array, "*batch n"]
"""0/1 spike values kept in floating point so surrogate gradients can pass through them."""

Voltage: TypeAlias = Float[Array, " n"]
Current: TypeAlias = Float[Array, " n"]
Conductance: TypeAlias = Float[Array, " n"]
TimeLike: TypeAlias = float | Float[ArrayLike, ""]
Key: TypeAlias = PRNGKeyArray

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Conductance",
    "Current",
    "Float",
    "Int",
    "Key",
    "Parameter",
    "Spikes",
    "TimeLike",
    "Voltage",
]
