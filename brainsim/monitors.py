"""What a simulation records, beyond spikes and population rates (always recorded)."""

import re

import equinox as eqx
import numpy as np

from ._validation import require_positive_int

_SHORTHAND = re.compile(r"^(?P<population>[^.\[\]]+)\.(?P<variable>[A-Za-z_][A-Za-z_0-9]*)$")


class StateMonitor(eqx.Module):
    """Record state variable `variable` of `population` every `every` steps.

    **Fields:**
    - `population`: population name.
    - `variable`: a field of the neuron state, e.g. `"v"` (mV).
    - `indices`: neuron indices to record (a sequence of ints), or `None` for all.
    - `every`: record one sample every `every` steps, >= 1 (decimation bounds memory).

    The shorthand string `"E.v"` means `StateMonitor("E", "v")`.
    """

    population: str = eqx.field(static=True)
    variable: str = eqx.field(static=True)
    indices: tuple[int, ...] | None = eqx.field(static=True, default=None)
    every: int = eqx.field(static=True, default=1)

    def __init__(self, population: str, variable: str, indices=None, every: int = 1):
        self.population, self.variable = population, variable
        self.indices = None if indices is None else tuple(int(i) for i in np.ravel(indices))
        self.every = require_positive_int("every", every)

    @property
    def name(self) -> str:
        return f"{self.population}.{self.variable}"


def as_monitor(spec) -> StateMonitor:
    """A `StateMonitor` from itself or from the shorthand `"population.variable"`."""
    if isinstance(spec, StateMonitor):
        return spec
    if isinstance(spec, str):
        match = _SHORTHAND.match(spec)
        if match:
            return StateMonitor(match["population"], match["variable"])
    raise ValueError(
        f"unknown monitor {spec!r}: give `bs.StateMonitor(population, variable, ...)` or a "
        "string `'population.variable'` such as `'E.v'`."
    )
