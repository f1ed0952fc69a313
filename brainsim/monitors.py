"""What a run records besides population outputs: functions of the `NetworkState`.

A monitor is sampled after every `every`-th step. `StateMonitor` reads one variable of a
population's model state (`"E.v"`), of a projection's synapse state (`"E->I.g"`) or a plastic
projection's weights (`"E->I.weights"`); `Monitor` records any function of the state (rule
traces, summed conductances, ...).
"""

import abc
import re
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array

from ._validation import require_positive_int

_SHORTHAND = re.compile(r"^(?P<target>[^\[\]]+)\.(?P<variable>[A-Za-z_][A-Za-z_0-9]*)$")


class AbstractMonitor(eqx.Module):
    """Something recorded every `every` steps, a function of the state after the step."""

    every: eqx.AbstractVar[int]

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The key of its samples in `result.traces`."""

    @abc.abstractmethod
    def sample(self, state) -> Array:
        """One sample from a `NetworkState`."""

    def check(self, network, state) -> None:
        """Raise `ValueError` if this monitor cannot read `network`'s state (`state`: its shape,
        from `jax.eval_shape`), before compiling."""
        try:
            jax.eval_shape(self.sample, state)
        except (KeyError, AttributeError, IndexError, TypeError) as error:
            raise ValueError(f"monitor `{self.name}` cannot read the network's state: {error!r}.") from None


class StateMonitor(AbstractMonitor):
    """Record `variable` of component `target` every `every` steps.

    **Fields:**
    - `target`: a population name (reads its model state, e.g. `"v"` in mV) or a projection
      name (reads its synapse state, e.g. `"g"`; `"weights"` of a plastic projection; the
      traces of its plasticity rule, e.g. `"pre"`; its short-term plasticity state, `"u"`).
    - `variable`: the field to read.
    - `indices`: indices to record along the first axis (a sequence of ints), or `None` for all.
    - `every`: one sample every `every` steps, >= 1 (decimation bounds memory).

    The shorthand string `"E.v"` means `StateMonitor("E", "v")`.
    """

    target: str = eqx.field(static=True)
    variable: str = eqx.field(static=True)
    indices: tuple[int, ...] | None = eqx.field(static=True, default=None)
    every: int = eqx.field(static=True, default=1)

    def __init__(self, target: str, variable: str, indices=None, every: int = 1):
        self.target, self.variable = target, variable
        self.indices = None if indices is None else tuple(int(i) for i in np.ravel(indices))
        self.every = require_positive_int("every", every)

    @property
    def name(self) -> str:
        return f"{self.target}.{self.variable}"

    def sample(self, state) -> Array:
        if self.target in state.populations:
            values = getattr(state.populations[self.target].neuron, self.variable)
        elif self.variable == "weights":
            values = state.projections[self.target].weights
        else:
            values = getattr(_projection_part(state.projections[self.target], self.variable), self.variable)
        return values if self.indices is None else values[jnp.asarray(self.indices)]

    def check(self, network, state) -> None:
        names = [p.name for p in network.populations] + [p.name for p in network.projections]
        if self.target not in names:
            raise ValueError(
                f"monitor `{self.name}`: unknown population or projection `{self.target}`; known: {names}."
            )
        if self.target in state.populations:
            component = state.populations[self.target].neuron
        elif self.variable == "weights":
            if state.projections[self.target].weights is None:
                raise ValueError(f"monitor `{self.name}`: projection `{self.target}` is not `plastic=True`.")
            component = None
        else:
            component = _projection_part(state.projections[self.target], self.variable)
            if component is None:
                parts = [getattr(state.projections[self.target], part) for part in _PROJECTION_PARTS]
                fields = [field for part in parts for field in _fields(part)]
                raise ValueError(
                    f"unknown monitor variable `{self.variable}` of `{self.target}`; its state has "
                    f"{fields + ['weights'] * (state.projections[self.target].weights is not None)}."
                )
        if component is not None and self.variable not in _fields(component):
            raise ValueError(
                f"unknown monitor variable `{self.variable}` of `{self.target}`; its state has "
                f"{list(_fields(component))}."
            )
        size = jax.eval_shape(StateMonitor(self.target, self.variable).sample, state).shape[0]
        if self.indices is not None and any(i < 0 or i >= size for i in self.indices):
            raise ValueError(
                f"monitor `{self.name}`: `indices` must be in [0, {size - 1}]; got "
                f"{min(self.indices)}..{max(self.indices)}."
            )


_PROJECTION_PARTS = ("synapse", "plasticity", "short_term")
"""Where a projection monitor looks for its variable, in order: the synapse state (`g`), the
plasticity rule's traces (`pre`, `post`, `r1`, ...), the short-term plasticity state (`u`, `x`)."""


def _fields(component) -> tuple[str, ...]:
    return tuple(getattr(component, "__dataclass_fields__", {}))


def _projection_part(projection_state, variable: str):
    """The first part of a projection's state (see `_PROJECTION_PARTS`) with field `variable`."""
    for part in _PROJECTION_PARTS:
        component = getattr(projection_state, part)
        if variable in _fields(component):
            return component
    return None


class Monitor(AbstractMonitor):
    """Record `fn(state)` every `every` steps, under the name `name`.

    **Fields:** `name` (key in `result.traces`), `fn` (a JAX function of a `NetworkState`
    returning an array), `every` (>= 1).
    """

    label: str = eqx.field(static=True)
    fn: Callable = eqx.field(static=True)
    every: int = eqx.field(static=True, default=1)

    def __init__(self, name: str, fn: Callable, every: int = 1):
        if not isinstance(name, str) or not name:
            raise TypeError(f"`name` must be a non-empty string; got {name!r}.")
        if not callable(fn):
            raise TypeError(f"`fn` must be a function of the state; got {type(fn).__name__}.")
        self.label, self.fn, self.every = name, fn, require_positive_int("every", every)

    @property
    def name(self) -> str:
        return self.label

    def sample(self, state) -> Array:
        return jnp.asarray(self.fn(state))


def as_monitor(spec) -> AbstractMonitor:
    """A monitor from itself or from the shorthand `"target.variable"` (e.g. `"E.v"`)."""
    if isinstance(spec, AbstractMonitor):
        return spec
    if isinstance(spec, str):
        match = _SHORTHAND.match(spec)
        if match:
            return StateMonitor(match["target"], match["variable"])
    raise ValueError(
        f"unknown monitor {spec!r}: give `bs.StateMonitor(target, variable, ...)`, `bs.Monitor(name, fn)` "
        "or a string `'target.variable'` such as `'E.v'`."
    )


def check_monitors(network, monitors) -> tuple[AbstractMonitor, ...]:
    """Monitors from specs, each checked against `network`; names must be unique."""
    checked = tuple(as_monitor(m) for m in monitors)
    state = jax.eval_shape(lambda: network.init_state(key=jr.key(0))) if checked else None
    seen = set()
    for m in checked:
        if m.name in seen:
            raise ValueError(f"monitor names must be unique; `{m.name}` appears twice.")
        seen.add(m.name)
        m.check(network, state)
    return checked
