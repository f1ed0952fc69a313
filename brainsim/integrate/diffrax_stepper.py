"""Any diffrax ODE solver, used one fixed step at a time inside `lax.scan`."""

import diffrax

from .._custom_types import TimeLike
from .base import AbstractStepper


class DiffraxStepper(AbstractStepper):
    """Wraps a `diffrax.AbstractSolver` (Euler, Heun, Midpoint, Ralston, Bosh3, Tsit5, Dopri5, ...).

    Each step calls `solver.step(term, t0, t0 + dt, y0, args, state, made_jump=True)`:
    `made_jump=True` because inputs change between steps and spikes reset the state, so a
    first-same-as-last stage from the previous step would be stale.

    **Fields:** `solver`, the diffrax solver.
    """

    solver: diffrax.AbstractSolver

    def init(self, model, t0, dt, y0, args):
        return self.solver.init(diffrax.ODETerm(model.vector_field), t0, t0 + dt, y0, args)

    def step(self, model, t0: TimeLike, dt: TimeLike, y0, args, solver_state):
        term = diffrax.ODETerm(model.vector_field)
        y1, _, _, solver_state, _ = self.solver.step(
            term, t0, t0 + dt, y0, args, solver_state, made_jump=True
        )
        return y1, solver_state


def as_stepper(solver) -> AbstractStepper:
    """A brainsim stepper from a stepper or a diffrax solver (`diffrax.Tsit5()` etc.)."""
    if isinstance(solver, AbstractStepper):
        return solver
    if isinstance(solver, diffrax.AbstractSolver):
        return DiffraxStepper(solver)
    raise TypeError(
        "`solver` must be a brainsim stepper (e.g. `bs.ExponentialEuler()`) or a diffrax "
        f"solver (e.g. `diffrax.Tsit5()`); got {type(solver).__name__}."
    )


