"""The points of a sweep: a grid or a list of samples, checked against the build function and
the metrics before anything is built."""

import inspect
import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

RESERVED = ("point",)
"""Column names the table uses itself."""


def sweep_points(params) -> tuple[tuple[str, ...], list[dict]]:
    """`(names, points)` from a grid `{name: sequence}` (Cartesian product, the last name
    varying fastest, as `itertools.product`) or samples `[{name: value}, ...]`."""
    if isinstance(params, Mapping):
        if not params:
            raise ValueError("`params` must name at least one parameter; got an empty grid `{}`.")
        names = tuple(params)
        axes = []
        for name in names:
            _require_name(name)
            values = params[name]
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
                raise TypeError(
                    f"`params[{name!r}]` must be a sequence of values (a list, tuple, range or 1-D "
                    f"array); got {type(values).__name__}. A fixed value is `[value]`."
                )
            if len(values) == 0:
                raise ValueError(f"`params[{name!r}]` is empty: the grid would have no points.")
            axes.append(list(values))
        return names, [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    if isinstance(params, Sequence) and not isinstance(params, str | bytes):
        if len(params) == 0:
            raise ValueError("`params` must hold at least one point; got an empty list of samples.")
        names = None
        points = []
        for k, point in enumerate(params):
            if not isinstance(point, Mapping):
                raise TypeError(
                    f"`params[{k}]` must be a dict of parameter values; got {type(point).__name__}."
                )
            if names is None:
                names = tuple(point)
                if not names:
                    raise ValueError("`params[0]` is an empty dict; a point needs at least one parameter.")
                for name in names:
                    _require_name(name)
            elif set(point) != set(names):
                raise ValueError(
                    f"`params[{k}]` has parameters {sorted(point)}, but `params[0]` has "
                    f"{sorted(names)}; every sample must set the same parameters."
                )
            points.append({name: point[name] for name in names})
        return names, points
    raise TypeError(
        "`params` must be a grid `{name: [values, ...]}` or a list of samples `[{name: value}, ...]`; "
        f"got {type(params).__name__}."
    )


def _require_name(name) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"parameter names must be identifiers (keyword arguments of `build`); got {name!r}.")
    if name in RESERVED:
        raise ValueError(f"`{name}` is reserved for the table's own column; rename the parameter.")


def check_build(build: Callable, names: tuple[str, ...]) -> None:
    """`build` takes every name as a keyword and needs no other argument."""
    if not callable(build):
        raise TypeError(
            f"`build` must be a function of the parameters returning a `Network`; got {build!r:.60}."
        )
    try:
        signature = inspect.signature(build)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    parameters = signature.parameters.values()
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    keywords = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    unknown = [name for name in names if name not in keywords]
    if unknown and not takes_any:
        raise ValueError(
            f"`build` does not take the parameter(s) {unknown}; it takes {sorted(keywords)}. "
            "Every parameter of the sweep is passed to `build` as a keyword argument."
        )
    required = [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name not in names
    ]
    if required:
        raise ValueError(
            f"`build` needs the argument(s) {required}, which the sweep does not set; add them "
            "to `params` (a fixed value is `[value]`) or give them defaults."
        )


def check_metrics(metrics, names: tuple[str, ...]) -> dict[str, Callable]:
    """`{name: function of a SimulationResult}`, names distinct from the parameters'."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"`metrics` must be a dict `{{name: function(result) -> number}}`; got {type(metrics).__name__}."
        )
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"metric names must be non-empty strings; got {name!r}.")
        if name in names or name in RESERVED:
            raise ValueError(f"metric `{name}` has the name of a parameter (or `point`); rename it.")
        if not callable(fn):
            raise TypeError(f"metric `{name}` must be a function of a `SimulationResult`; got {fn!r:.60}.")
    return dict(metrics)


def metric_value(name: str, value):
    """A metric's result as a Python/NumPy scalar; anything else is an error naming it."""
    array = np.asarray(value)
    if array.ndim != 0 or array.dtype == object:
        raise TypeError(
            f"metric `{name}` must return a scalar (a number, or a 0-d array); got "
            f"{type(value).__name__} of shape {array.shape}."
        )
    return array.item()


def column(values: list) -> np.ndarray:
    """One column of the table: numeric where the values are numbers, else objects."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        array = None
    if array is None or array.ndim != 1 or array.dtype == object:
        array = np.empty(len(values), object)
        array[:] = values
    return array
