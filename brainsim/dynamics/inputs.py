"""External inputs to a population: currents, and event streams through a synapse.

Current inputs add a current (pA) to their target's `SynapticInput`. Event inputs deliver summed
weights into a synapse of their own (state per target neuron), exactly as a projection does, so
Brian2's `PoissonInput` and NEST's `spike_generator` both have a home here.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._custom_types import TimeLike
from .._validation import (
    require_finite,
    require_nonnegative,
    require_nonnegative_int,
    require_parameter,
)
from .synapses.base import AbstractOutput, AbstractSynapse


def _as_float(value) -> Array:
    """`value` (array-like, lists included) as a floating array: its own float dtype if it has
    one, else the default float dtype (float32, or float64 under `jax_enable_x64`)."""
    value = jnp.asarray(value)
    return value.astype(jnp.result_type(value, float))


class AbstractCurrentInput(eqx.Module):
    """Adds a current (pA) to the population named `target`."""

    target: eqx.AbstractVar[str]

    @abc.abstractmethod
    def current_at(self, t: TimeLike, n: int) -> Float[Array, " n"]:
        """The injected current at time `t` (ms), pA, broadcast to `(n,)`."""

    def check_dt(self, dt: float) -> None:
        """Raise `ValueError` if this input cannot be stepped with `dt` (ms); default: it can."""


class AbstractEventInput(eqx.Module):
    """Delivers events through its own `synapse` and `output` into population `target`."""

    target: eqx.AbstractVar[str]
    synapse: eqx.AbstractVar[AbstractSynapse]
    output: eqx.AbstractVar[AbstractOutput]

    @abc.abstractmethod
    def delivered(self, t: TimeLike, dt: TimeLike, n: int, key: PRNGKeyArray) -> Float[Array, " n"]:
        """Summed weights arriving at each target neuron during `[t, t + dt)`."""

    def check_dt(self, dt: float) -> None:
        """Raise `ValueError` if this input cannot be stepped with `dt` (ms); default: it can."""


class ConstantCurrent(AbstractCurrentInput):
    """A constant current. **Fields:** `target` (population name), `current` (pA; scalar or `(n,)`)."""

    target: str = eqx.field(static=True)
    current: Float[ArrayLike, "..."]

    def __check_init__(self):
        require_finite("current", self.current, "pA")

    def current_at(self, t, n):
        return jnp.broadcast_to(_as_float(self.current), (n,))


class CurrentFunction(AbstractCurrentInput):
    """Any function of time: `fn(t)` with `t` in ms returns a current in pA (scalar or `(n,)`).

    **Fields:** `target` (population name), `fn` (a JAX-traceable function of `t`).
    """

    target: str = eqx.field(static=True)
    fn: Callable

    def current_at(self, t, n):
        return jnp.broadcast_to(_as_float(self.fn(t)), (n,))


class PoissonInput(AbstractEventInput):
    r"""`n_sources` independent Poisson spike trains of rate `rate` onto every target neuron.

    Each step delivers $w\,K_j$ to neuron $j$ with $K_j \sim \mathrm{Binomial}(N_s,\ r\,\Delta t)$
    (as Brian2's `PoissonInput`), so no source population is simulated.

    **Fields:**
    - `target`: population name.
    - `n_sources`: number of sources per target neuron, >= 0.
    - `rate`: rate of each source, Hz; >= 0 and `rate * dt * 1e-3` <= 1 (`dt` in ms; see
      `check_dt`).
    - `weight`: weight per spike, in the synapse's unit (nS for `COBA`, pA for `CUBA`).
    - `synapse`, `output`: as in a projection.
    """

    target: str = eqx.field(static=True)
    n_sources: int = eqx.field(static=True)
    rate: float | Float[Array, ""]
    weight: float | Float[Array, ""]
    synapse: AbstractSynapse
    output: AbstractOutput

    def __check_init__(self):
        require_nonnegative_int("n_sources", self.n_sources)
        require_parameter("rate", self.rate, "Hz")
        require_nonnegative("rate", self.rate, "Hz")
        require_parameter("weight", self.weight)

    def check_dt(self, dt: float) -> None:
        """A source fires at most once per step: `rate * dt * 1e-3 <= 1` (`rate` in Hz, `dt` in
        ms). Beyond that the binomial probability would be clipped to 1 and the input silently
        weaker than asked. Skipped when `rate` is traced (built under `jit`/`vmap`)."""
        try:
            rate = float(jnp.max(jnp.asarray(self.rate)))
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            return
        if rate * 1e-3 * dt > 1.0:
            raise ValueError(
                f"`PoissonInput` to `{self.target}`: `rate` * `dt` * 1e-3 must be <= 1 (`rate` in "
                f"Hz, `dt` in ms: at most one spike per source per step), i.e. `rate` in "
                f"[0, {1e3 / dt:g}] Hz at `dt` = {dt:g} ms; got `rate` = {rate:g} Hz. Lower `rate` "
                f"and raise `n_sources`, or use a smaller `dt`."
            )

    def delivered(self, t, dt, n, key):
        probability = jnp.clip(jnp.asarray(self.rate) * 1e-3 * dt, 0.0, 1.0)
        counts = jr.binomial(key, self.n_sources, probability, shape=(n,))
        weight = _as_float(self.weight)
        return weight * counts.astype(weight.dtype)


class SpikeTimes(AbstractEventInput):
    """Given spikes: the `k`-th event reaches target neuron `indices[k]` at `times[k]` (ms).

    Each step scans all events (O(number of events)), which suits stimuli of up to a few
    thousand events; an event at time `t` is delivered in the step `[t_i, t_i + dt)` containing it.

    **Fields:** `target`, `times` (ms, >= 0), `indices` (target neuron indices), `weight`
    (synapse unit), `synapse`, `output`.
    """

    target: str = eqx.field(static=True)
    times: Float[Array, " events"]
    indices: Int[Array, " events"]
    weight: float | Float[Array, ""]
    synapse: AbstractSynapse
    output: AbstractOutput

    def __init__(self, target, times, indices, weight, synapse, output):
        self.target = target
        self.times = _as_float(times)
        self.indices = jnp.asarray(indices, dtype=jnp.int32)
        self.weight = weight
        self.synapse = synapse
        self.output = output

    def __check_init__(self):
        if self.times.ndim != 1 or self.times.shape != self.indices.shape:
            raise ValueError(
                "`times` and `indices` must be 1-D arrays of equal length; got shapes "
                f"{self.times.shape} and {self.indices.shape}."
            )
        require_finite("times", self.times, "ms")
        require_nonnegative("times", self.times, "ms")
        require_nonnegative("indices", self.indices)
        require_parameter("weight", self.weight)

    def delivered(self, t, dt, n, key):
        # a tolerance of 1e-4 dt absorbs float error in t = step * dt
        now = (self.times >= t - 1e-4 * dt) & (self.times < t + dt - 1e-4 * dt)
        weight = _as_float(self.weight)
        return jnp.zeros(n, weight.dtype).at[self.indices].add(jnp.where(now, weight, 0.0))
