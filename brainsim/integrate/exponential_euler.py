"""Exponential Euler for dynamics linear in their own state."""

import jax.numpy as jnp
import jax.tree_util as jtu

from .._custom_types import TimeLike
from ..dynamics.neurons.base import AbstractLinearInState
from .base import AbstractStepper


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
