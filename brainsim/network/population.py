"""`Population`: `n` units of one model, integrated by one solver."""

import dataclasses
from typing import Any

import diffrax
import equinox as eqx
import numpy as np

from .._validation import require_positive_int
from ..dynamics import AbstractLinearInState, AbstractNeuron
from ..dynamics.streams import SpikeSource, ValueSource
from ..integrate import AbstractStepper, ExponentialEuler, as_stepper
from ._frozen import FrozenState, freeze


class Population(eqx.Module):
    """`n` units of one model, integrated by one solver.

    **Fields:**
    - `name`: unique name in the network.
    - `n`: number of units, >= 1.
    - `neuron`: the model: any `AbstractNeuron` (a spiking neuron emits spikes, an
      `AbstractValueNeuron` such as `RateUnit` emits values), or a data source (`SpikeSource`,
      `ValueSource`) fed through `run(..., inputs={name: ...})`. Array parameters must have
      shape `(n,)`.
    - `solver`: a brainsim stepper or any diffrax solver; default `ExponentialEuler()` for models
      linear in their state, `diffrax.Heun()` otherwise (none for data sources).
    - `initial_state`: the state at t = 0, or `None` for `neuron.init_state(n, key=...)`. It is
      held outside the parameter pytree (an optimiser never trains it); to start from a traced
      state, pass a `NetworkState` to `run`/`simulate` instead.
    - `every`: a slow clock: the population advances only in steps `k` with `k % every == 0`,
      by `every * dt` at a time, with the input of that step held over the interval
      (astrocytes evolve over seconds). Between updates a value population keeps emitting its
      value and a spiking one emits no spikes. Default 1 (every step).
    """

    name: str = eqx.field(static=True)
    n: int = eqx.field(static=True)
    neuron: Any
    solver: AbstractStepper | None
    initial_state: FrozenState | None = eqx.field(static=True)
    every: int = eqx.field(static=True)

    def __init__(self, name: str, n: int, neuron, *, solver=None, initial_state=None, every=1):
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a non-empty string; got {name!r}.")
        self.name = name
        self.n = require_positive_int("n", n)
        self.every = require_positive_int("every", every)
        if isinstance(neuron, SpikeSource | ValueSource):
            if solver is not None or initial_state is not None or self.every != 1:
                raise ValueError(
                    f"population `{name}` is a data source: it takes no `solver`, `initial_state` or `every`."
                )
            self.neuron, self.solver, self.initial_state = neuron, None, None
            return
        if not isinstance(neuron, AbstractNeuron):
            raise TypeError(
                f"`neuron` of population `{name}` must be a neuron model (a subclass of "
                f"`AbstractNeuron`) or a data source (`SpikeSource`, `ValueSource`); got "
                f"{type(neuron).__name__}."
            )
        check_per_unit_parameters(neuron, n, f"population `{name}`")
        if solver is None:
            linear = isinstance(neuron, AbstractLinearInState)
            solver = ExponentialEuler() if linear else diffrax.Heun()
        self.neuron = neuron
        self.solver = as_stepper(solver)
        self.solver.check_model(neuron)
        self.initial_state = freeze(initial_state, f"`initial_state` of population `{name}`")


def check_per_unit_parameters(module, n: int, where: str) -> None:
    """Every array field of `module` (a neuron, synapse or output) is a scalar or `(n,)`, and
    floating or integer: a `ValueError`/`TypeError` naming the field and `where`, before any
    compilation (instead of a broadcasting error while tracing)."""
    for f in dataclasses.fields(module):
        value = getattr(module, f.name)
        if not eqx.is_array_like(value) or isinstance(value, bool):
            continue
        if np.ndim(value) > 0 and np.shape(value) not in ((n,), (1,)):
            raise ValueError(
                f"`{f.name}` of {where} must be a scalar or have shape ({n},); got shape {np.shape(value)}."
            )
        dtype = np.dtype(value.dtype) if hasattr(value, "dtype") else np.result_type(value)
        if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
            raise TypeError(f"`{f.name}` of {where} must be a real number (float); got dtype {dtype}.")
