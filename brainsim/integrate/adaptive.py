"""An adaptive diffrax solve inside each step: for stiff or slow models (astrocytes) whose
accuracy must not depend on the network's `dt`."""

import diffrax
import equinox as eqx
import jax

from .._custom_types import TimeLike
from .._validation import require_positive, require_positive_int
from .base import AbstractStepper


class AdaptiveStepper(AbstractStepper):
    r"""Integrates the model over each step $[t_0, t_0 + \Delta t]$ with
    `diffrax.diffeqsolve(solver, PIDController(rtol, atol))`, the input held over the step: as
    many internal steps as the tolerances need (e.g. on a slow clock, `Population(every=k)`,
    where one step spans `k * dt`).

    **Fields:**
    - `solver`: an adaptive diffrax solver (one with an error estimate: `Tsit5`, `Dopri5`,
      `Kvaerno5`, ...).
    - `rtol`, `atol`: relative and absolute tolerances, > 0.
    - `max_steps`: internal steps allowed per network step, >= 1 (an error beyond).
    """

    solver: diffrax.AbstractAdaptiveSolver
    rtol: float = eqx.field(static=True, default=1e-6)
    atol: float = eqx.field(static=True, default=1e-9)
    max_steps: int = eqx.field(static=True, default=4096)

    def __check_init__(self):
        if not isinstance(self.solver, diffrax.AbstractAdaptiveSolver):
            raise TypeError(
                "`solver` of `AdaptiveStepper` must be an adaptive diffrax solver (e.g. `diffrax.Tsit5()`); "
                f"got {type(self.solver).__name__}."
            )
        require_positive("rtol", self.rtol)
        require_positive("atol", self.atol)
        require_positive_int("max_steps", self.max_steps)

    def init(self, model, t0, dt, y0, args):
        return None

    def step(self, model, t0: TimeLike, dt: TimeLike, y0, args, solver_state):
        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(model.vector_field),
            self.solver,
            t0,
            t0 + dt,
            None,
            y0,
            args=args,
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            max_steps=self.max_steps,
            saveat=diffrax.SaveAt(t1=True),
        )
        return jax.tree.map(lambda x: x[0], solution.ys), None  # the one saved time, t1
