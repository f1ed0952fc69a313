"""Exponential Euler for dynamics linear in their own state."""

from .._custom_types import TimeLike
from ..dynamics.base import AbstractLinearInState, exponential_euler_step
from .base import AbstractStepper


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
        return exponential_euler_step(model, t0, dt, y0, args), None
