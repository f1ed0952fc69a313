"""Exponential Euler for dynamics linear in their own state."""

import jax.numpy as jnp
import jax.tree_util as jtu

from .._custom_types import TimeLike
from ..dynamics.neurons.base import AbstractLinearInState
from .base import AbstractStepper


def _phi(a, dt):
    r"""$(e^{a\,\Delta t} - 1)/a$, with its limit $\Delta t$ at $a = 0$ (no 0/0 in either pass)."""
    small = jnp.abs(a * dt) < 1e-6
    safe_a = jnp.where(small, 1.0, a)
    return jnp.where(small, dt * (1.0 + 0.5 * a * dt), jnp.expm1(safe_a * dt) / safe_a)


def exponential_euler_update(a, y, b, dt):
    r"""$y\,e^{a\Delta t} + b\,(e^{a\Delta t} - 1)/a$ for one leaf, elementwise."""
    return y * jnp.exp(a * dt) + b * _phi(a, dt)


class ExponentialEuler(AbstractStepper):
    r"""Exponential Euler: $y_{t+\Delta t} = y_t e^{a\Delta t} + b\,\frac{e^{a\Delta t} - 1}{a}$.

    For models that expose $dy/dt = a\,y + b$ (`AbstractLinearInState`), with `a` and `b`
    evaluated at the start of the step. Exact when they are constant over the step (LIF between
    spikes, exponential synapses); first order otherwise (Hodgkin-Huxley gates, as in Brian2's
    `exponential_euler`). Unconditionally stable for $a \le 0$, hence the default for stiff
    linear dynamics at $\Delta t = 0.1$ ms. No solver state.
    """

    def check_model(self, model) -> None:
        if not isinstance(model, AbstractLinearInState):
            raise TypeError(
                f"`ExponentialEuler` needs a model linear in its state (`AbstractLinearInState`); "
                f"{type(model).__name__} is not. Use a diffrax solver instead, e.g. "
                "`solver=diffrax.Heun()`."
            )

    def init(self, model, t0, dt, y0, args):
        return None

    def step(self, model, t0: TimeLike, dt: TimeLike, y0, args, solver_state):
        a, b = model.linear_coefficients(t0, y0, args)
        y1 = jtu.tree_map(lambda a_, y_, b_: exponential_euler_update(a_, y_, b_, dt), a, y0, b)
        return y1, None
