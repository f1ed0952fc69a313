"""Construction-time checks that raise `ValueError` naming the argument, its range and unit.

Values that are JAX tracers (models built under `jit`/`vmap`) are skipped, as lineax's `CG` does:
they cannot be inspected before run time.
"""

from typing import Any

import jax
import numpy as np


def _concrete(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def require_positive(name: str, value: Any, unit: str = "") -> None:
    """`value` > 0 everywhere."""
    concrete = _concrete(value)
    if concrete is not None and not np.all(concrete > 0):
        raise ValueError(f"`{name}` must be > 0{_u(unit)}; got {_show(value)}.")


def require_nonnegative(name: str, value: Any, unit: str = "") -> None:
    """`value` >= 0 everywhere."""
    concrete = _concrete(value)
    if concrete is not None and not np.all(concrete >= 0):
        raise ValueError(f"`{name}` must be >= 0{_u(unit)}; got {_show(value)}.")


def require_in_range(name: str, value: Any, low: float, high: float, unit: str = "") -> None:
    """`low` <= `value` <= `high` everywhere."""
    concrete = _concrete(value)
    if concrete is not None and not np.all((concrete >= low) & (concrete <= high)):
        raise ValueError(f"`{name}` must be in [{low}, {high}]{_u(unit)}; got {_show(value)}.")


def require_less(name_low: str, low: Any, name_high: str, high: Any, unit: str = "") -> None:
    """`low` < `high` everywhere (e.g. `v_reset` < `v_threshold`)."""
    a, b = _concrete(low), _concrete(high)
    if a is not None and b is not None and not np.all(a < b):
        raise ValueError(
            f"`{name_low}` must be < `{name_high}`{_u(unit)}; got {_show(low)} and {_show(high)}."
        )


def require_finite(name: str, value: Any, unit: str = "") -> None:
    """No NaN or Inf."""
    concrete = _concrete(value)
    if concrete is not None and not np.all(np.isfinite(concrete)):
        raise ValueError(f"`{name}` must be finite{_u(unit)}; got {_show(value)}.")


def require_parameter(name: str, value: Any, unit: str = "") -> None:
    """A model parameter: finite (no NaN or Inf), and a scalar or a per-neuron array `(n,)`.

    Under `jit`/`vmap` the shape is still checked (a tracer has one) but the values are not.
    """
    shape = np.shape(value)
    if len(shape) > 1:
        raise ValueError(
            f"`{name}` must be a scalar or a 1-D per-neuron array of shape (n,){_u(unit)}; "
            f"got shape {shape}."
        )
    require_finite(name, value, unit)


def require_parameters(model: Any, units: dict[str, str]) -> None:
    """`require_parameter` on each field of `model` named in `units` (field name -> unit)."""
    for name, unit in units.items():
        require_parameter(name, getattr(model, name), unit)


def require_shape_compatible(name: str, value: Any, n: int) -> None:
    """`value` is a scalar or a 1-D array of length `n` (a per-neuron parameter)."""
    shape = np.shape(value)
    if shape not in ((), (n,), (1,)):
        raise ValueError(
            f"`{name}` must be a scalar or have shape ({n},) to match the population; "
            f"got shape {shape}."
        )


def require_positive_int(name: str, value: Any) -> int:
    """A Python/NumPy integer >= 1; returns it as `int`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer >= 1; got {value!r} ({type(value).__name__}).")
    if value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1; got {value}.")
    return int(value)


def require_nonnegative_int(name: str, value: Any) -> int:
    """A Python/NumPy integer >= 0; returns it as `int`."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer >= 0; got {value!r} ({type(value).__name__}).")
    if value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0; got {value}.")
    return int(value)


def require_floating(name: str, value: Any) -> None:
    """An array of a floating dtype (spikes and states carry gradients)."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        raise TypeError(f"`{name}` must have a floating dtype (float32/float64); got {dtype}.")


def _u(unit: str) -> str:
    return f" {unit}" if unit else ""


def _show(value: Any) -> str:
    concrete = _concrete(value)
    if concrete is None or concrete.ndim == 0:
        return repr(value if concrete is None else concrete.item())
    return f"an array with min {concrete.min()!r} and max {concrete.max()!r}"
