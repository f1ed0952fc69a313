"""Abstract neuron contracts.

A neuron model is an equinox module holding parameters only; its state is a separate pytree
(`<Model>State`, with a membrane potential field `v` in mV). The model exposes diffrax's
`vector_field(t, y, args)` with `args` the population's input (a `SynapticInput`, or a plain
current in pA), so any diffrax solver integrates it; spiking models add `spike` and `reset`.
"""

import abc
from typing import Generic, TypeVar

import equinox as eqx
import jax.tree_util as jtu
from jaxtyping import PRNGKeyArray

from ..._custom_types import Spikes, TimeLike
from ..surrogate import AbstractSurrogate

StateT = TypeVar("StateT")


class AbstractNeuron(eqx.Module, Generic[StateT]):
    """A population's dynamics $dy/dt = f(t, y, I)$, with `y` a state pytree of `(n,)` arrays."""

    @abc.abstractmethod
    def init_state(self, n: int, *, key: PRNGKeyArray) -> StateT:
        """Initial state of `n` neurons (random where the model's docstring says)."""

    @abc.abstractmethod
    def vector_field(self, t: TimeLike, y: StateT, args) -> StateT:
        """$dy/dt$ in units per ms; `args` is a `SynapticInput` or a current in pA."""


class AbstractSpikingNeuron(AbstractNeuron[StateT]):
    """A neuron that emits spikes: `spike(y)` after each step, then `reset(y, spiked)`."""

    surrogate: eqx.AbstractVar[AbstractSurrogate]

    @abc.abstractmethod
    def spike(self, y: StateT) -> Spikes:
        """0/1 spikes (floating point; surrogate gradient in the backward pass)."""

    @abc.abstractmethod
    def reset(self, y: StateT, spiked: Spikes) -> StateT:
        """The state after the neurons in `spiked` (> 0) have fired."""


class AbstractLinearInState(AbstractNeuron[StateT]):
    r"""Dynamics linear in each state variable given the others: $dy/dt = a(t, y)\,y + b(t, y)$.

    `a` and `b` are pytrees shaped like `y` (a diagonal system, "conditionally linear" in
    Brian2's words). Exponential Euler, $y_{t+\Delta t} = y\,e^{a\Delta t} + b\,(e^{a\Delta t}-1)/a$,
    is then exact whenever `a` and `b` are constant over the step.
    """

    @abc.abstractmethod
    def linear_coefficients(self, t: TimeLike, y: StateT, args) -> tuple[StateT, StateT]:
        """`(a, b)` with $dy/dt = a y + b$ (`a` in 1/ms, `b` in units of `y` per ms)."""

    def vector_field(self, t: TimeLike, y: StateT, args) -> StateT:
        a, b = self.linear_coefficients(t, y, args)
        return jtu.tree_map(lambda a_, y_, b_: a_ * y_ + b_, a, y, b)
