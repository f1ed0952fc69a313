r"""The root of every dynamical model, and dynamics linear in their own state.

`AbstractDynamics` is diffrax's view of a model: a state pytree and `vector_field(t, y, args)`.
`AbstractLinearInState` marks models with $dy/dt = a\,y + b$ and gives their exact step
(`exponential_euler_step`), shared by neurons (through `brainsim.integrate.ExponentialEuler`)
and synapses (which advance themselves between deliveries).
"""

import abc
from typing import Generic, TypeVar

import equinox as eqx
import jax.numpy as jnp
import jax.tree_util as jtu

from .._custom_types import TimeLike

StateT = TypeVar("StateT")


class AbstractDynamics(eqx.Module, Generic[StateT]):
    """A model $dy/dt = f(t, y, I)$ with `y` a state pytree of `(n,)` arrays and `I` its input."""

    @abc.abstractmethod
    def vector_field(self, t: TimeLike, y: StateT, args) -> StateT:
        """$dy/dt$ in units per ms, with diffrax's signature."""


class AbstractLinearInState(AbstractDynamics[StateT]):
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


def exponential_euler_update(a, y, b, dt):
    r"""$y\,e^{a\Delta t} + b\,(e^{a\Delta t} - 1)/a$ for one leaf, elementwise.

    One `exp` per element of `a` (a scalar `a` costs one, whatever the size of `y`). For
    $|a\Delta t| < 10^{-2}$, $(e^{a\Delta t} - 1)/a$ is its Taylor series
    $\Delta t\,(1 + x/2 + x^2/6 + x^3/24)$ with $x = a\Delta t$ (relative error < $10^{-9}$,
    no cancellation, no 0/0 in either pass); elsewhere `exp(x) - 1` is accurate to $10^{-5}$
    relative in float32. (`expm1` would be exact but is 2.4x slower than `exp` on CPU.)
    """
    x = a * dt
    decay = jnp.exp(x)
    small = jnp.abs(x) < 1e-2
    safe_a = jnp.where(small, 1.0, a)
    series = dt * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0))))
    phi = jnp.where(small, series, (decay - 1.0) / safe_a)
    return y * decay + b * phi


def exponential_euler_step(model: AbstractLinearInState, t: TimeLike, dt: TimeLike, y, args):
    """One exact-for-constant-coefficients step of `model` from `y` over `dt` (ms)."""
    a, b = model.linear_coefficients(t, y, args)
    return jtu.tree_map(lambda a_, y_, b_: exponential_euler_update(a_, y_, b_, dt), a, y, b)
