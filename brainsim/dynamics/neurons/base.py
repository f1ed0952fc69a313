"""Abstract neuron contracts: what a population's model receives, integrates and emits.

A neuron model is an equinox module holding parameters only; its state is a separate pytree
(`<Model>State`). The model exposes diffrax's `vector_field(t, y, args)` with `args` the
population's input (by default a `SynapticInput`, or a plain current in pA), so any diffrax
solver integrates it. After each step a population *emits* what its model declares:

- `AbstractSpikingNeuron`: 0/1 spikes (`spike(y)`, surrogate gradient in the backward pass),
  then `reset(y, spiked)`; projections deliver them through event-driven operators.
- `AbstractValueNeuron`: a continuous value (`value(y)`: a rate in Hz, a Ca2+ level in uM,
  ...); projections deliver it through a dense or sparse matrix-vector product.
"""

import abc
from typing import TypeVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray

from ..._custom_types import Spikes
from ..base import AbstractDynamics, AbstractLinearInState as AbstractLinearInState
from ..surrogate import AbstractSurrogate
from ..synaptic_input import SynapticInput, no_input

StateT = TypeVar("StateT")


class AbstractNeuron(AbstractDynamics[StateT]):
    """A population's dynamics $dy/dt = f(t, y, I)$, with `y` a state pytree of `(n,)` arrays."""

    @abc.abstractmethod
    def init_state(self, n: int, *, key: PRNGKeyArray) -> StateT:
        """Initial state of `n` neurons (random where the model's docstring says)."""

    def zero_input(self, n: int, dtype) -> SynapticInput:
        """The input this model takes, with nothing arriving: zero current and conductance.

        Synaptic outputs (`CUBA`, `COBA`) and current inputs add to it; a model that takes
        another kind of input overrides this and receives outputs that know that kind.
        """
        return no_input(n, dtype)


class AbstractSpikingNeuron(AbstractNeuron[StateT]):
    """A neuron that emits spikes: `spike(y)` after each step, then `reset(y, spiked)`."""

    surrogate: eqx.AbstractVar[AbstractSurrogate]

    @abc.abstractmethod
    def spike(self, y: StateT) -> Spikes:
        """0/1 spikes (floating point; surrogate gradient in the backward pass)."""

    @abc.abstractmethod
    def reset(self, y: StateT, spiked: Spikes) -> StateT:
        """The state after the neurons in `spiked` (> 0) have fired."""


class AbstractValueNeuron(AbstractNeuron[StateT]):
    """A unit that emits a continuous value after each step (a rate, a concentration)."""

    @abc.abstractmethod
    def value(self, y: StateT) -> Float[Array, " n"]:
        """What the population passes on, per unit, in the unit the model's docstring states."""
