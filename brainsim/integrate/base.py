"""The stepping contract: one fixed step of a model's vector field, usable inside `lax.scan`."""

import abc
from typing import Any

import equinox as eqx

from .._custom_types import TimeLike


class AbstractStepper(eqx.Module):
    """Advances `dy/dt = model.vector_field(t, y, args)` by one step of `dt` (ms).

    Pure, like diffrax's `AbstractSolver.step`: all state in, all state out.
    """

    @abc.abstractmethod
    def init(self, model, t0: TimeLike, dt: TimeLike, y0, args) -> Any:
        """Solver state carried between steps (`None` if the method has none)."""

    @abc.abstractmethod
    def step(self, model, t0: TimeLike, dt: TimeLike, y0, args, solver_state) -> tuple[Any, Any]:
        """`(y1, solver_state)`: the state at `t0 + dt`, with `args` held fixed over the step."""

    def check_model(self, model) -> None:
        """Raise `TypeError` if this stepper cannot integrate `model` (default: it can)."""
