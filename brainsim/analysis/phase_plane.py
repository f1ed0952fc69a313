r"""Phase planes of two-variable neuron models, from the model's own vector field.

For a model with state $(x, y)$ (Izhikevich $(v, u)$, AdEx $(v, w)$, a FitzHugh-Nagumo-type
model of your own) held at a fixed input current $I$, `phase_plane` evaluates
`model.vector_field(t, state, I)` on a grid, so the plane shows exactly the dynamics brainsim
integrates. The nullclines are the zero contours $\dot x = 0$ and $\dot y = 0$; fixed points
lie where they cross. Every other state variable (AdEx's `refractory`, for instance) keeps the
value `model.init_state` gives it (AdEx: not refractory).
"""

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import ArrayLike, Real

from ..dynamics import AbstractNeuron

Scalar = Real[ArrayLike, ""]
"""A Python number or a 0-d array (NumPy or JAX)."""


@dataclasses.dataclass(frozen=True)
class PhasePlane:
    r"""A two-variable vector field sampled on a grid.

    **Fields:**
    - `variables`: `(x name, y name)`, fields of the model's state.
    - `x`: float array `(nx,)`; `y`: float array `(ny,)` (in the variables' units).
    - `dx`, `dy`: float arrays `(ny, nx)`, $\dot x$ and $\dot y$ per ms at each grid point.
    - `current`: the fixed input current, pA.
    - `model`: the model's class name.
    """

    variables: tuple[str, str]
    x: np.ndarray
    y: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    current: float
    model: str

    def __repr__(self) -> str:
        x, y = self.variables
        return (
            f"PhasePlane({self.model}, {x} in [{self.x[0]:g}, {self.x[-1]:g}], "
            f"{y} in [{self.y[0]:g}, {self.y[-1]:g}], {self.y.size}x{self.x.size} grid, "
            f"I = {self.current:g} pA)"
        )


def phase_plane(
    model: AbstractNeuron,
    *,
    x_range: tuple[Scalar, Scalar],
    y_range: tuple[Scalar, Scalar],
    current: Scalar = 0.0,
    variables: tuple[str, str] = ("v", "u"),
    resolution: int = 101,
    t: Scalar = 0.0,
) -> PhasePlane:
    r"""Evaluate `model.vector_field` on a `resolution` x `resolution` grid.

    **Arguments:**
    - `model`: any `AbstractNeuron` whose state has the two fields in `variables`.
    - `x_range`, `y_range`: `(low, high)` of the grid, in the variables' units (e.g. mV and
      mV/ms for Izhikevich's $(v, u)$, mV and pA for AdEx's $(v, w)$).
    - `current`: the fixed input current $I$, pA (passed as the model's input: for Izhikevich
      it enters as $I/C_m$).
    - `variables`: the state fields on the x and y axes, e.g. `("v", "w")` for `AdEx`.
    - `resolution`: grid points per axis, >= 3.
    - `t`: time passed to the vector field, ms.

    **Returns:** a `PhasePlane`.
    """
    if resolution < 3:
        raise ValueError(f"`resolution` must be >= 3; got {resolution!r}.")
    for name, (low, high) in (("x_range", x_range), ("y_range", y_range)):
        if not high > low:
            raise ValueError(f"`{name}` must be (low, high) with high > low; got {(low, high)!r}.")
    x_name, y_name = variables
    state = model.init_state(resolution * resolution, key=jr.key(0))
    fields = [f.name for f in dataclasses.fields(state)]
    for name in variables:
        if name not in fields:
            raise ValueError(
                f"`variables` names `{name}`, which is not a field of {type(state).__name__}; "
                f"fields: {fields}."
            )
    dtype = getattr(state, x_name).dtype
    x = np.linspace(float(x_range[0]), float(x_range[1]), resolution)
    y = np.linspace(float(y_range[0]), float(y_range[1]), resolution)
    grid_x, grid_y = np.meshgrid(x, y)  # (ny, nx)
    state = eqx.tree_at(
        lambda s: (getattr(s, x_name), getattr(s, y_name)),
        state,
        (jnp.asarray(grid_x.ravel(), dtype), jnp.asarray(grid_y.ravel(), dtype)),
    )
    derivative = model.vector_field(jnp.asarray(t, dtype), state, jnp.asarray(current, dtype))
    shape = grid_x.shape
    return PhasePlane(
        variables=(x_name, y_name),
        x=x,
        y=y,
        dx=np.asarray(getattr(derivative, x_name), np.float64).reshape(shape),
        dy=np.asarray(getattr(derivative, y_name), np.float64).reshape(shape),
        current=float(current),
        model=type(model).__name__,
    )
