"""Run a `Network` for a duration: chunked `lax.scan`, monitors, progress, NaN/Inf detection.

`simulate` compiles one chunk of steps (connectivity is an argument, not a constant, so compile
time does not grow with the network) and reuses it across chunks and across calls with the same
shapes. Between chunks the host stores spikes compactly (step and neuron index) and updates the
progress bar; inside a chunk nothing leaves the device. Under `jax.grad` or `jax.vmap` the same
steps are traced instead and the result keeps dense, differentiable spike rasters.
"""

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import PRNGKeyArray
from tqdm.auto import tqdm

from .fused import FusedPlan, fused_plan, run_fused_chunk
from .monitors import StateMonitor, as_monitor
from .network import Network, NetworkState
from .result import SimulationResult

_RECORD_BYTES_PER_CHUNK = 64 * 2**20
_MAX_CHUNK_STEPS = 20_000
_PROGRESS_MIN_STEPS = 50_000
ENGINES = ("auto", "generic", "fused")
"""`engine=` choices of `simulate`."""


class NonFiniteStateError(FloatingPointError):
    """A population's state became NaN or Inf during a simulation."""


class _Recorded(eqx.Module):
    spikes: dict
    counts: dict
    traces: dict
    overflow: dict
    first_nonfinite: dict


def simulate(
    network: Network,
    duration: float,
    dt: float = 0.1,
    *,
    key: PRNGKeyArray,
    monitors=(),
    record_spikes: bool | tuple[str, ...] = True,
    progress: bool | None = None,
    initial_state: NetworkState | None = None,
    chunk_steps: int | None = None,
    engine: str = "auto",
) -> SimulationResult:
    r"""Simulate `network` for `duration` ms with fixed step `dt` ms.

    **Arguments:**
    - `network`: the `Network`.
    - `duration`: ms; a positive multiple of `dt`.
    - `dt`: time step, ms; > 0 (0.1 ms is the benchmark step).
    - `key`: a `jax.random` key; the same key gives the same spikes.
    - `monitors`: `StateMonitor`s or strings `"population.variable"` (e.g. `"E.v"`).
    - `record_spikes`: `True` for every population, `False` for none, or a tuple of names.
      Population rates are always recorded.
    - `progress`: show a tqdm bar (updated between chunks); default: for runs of 50,000 steps
      or more.
    - `initial_state`: continue from this `NetworkState` (e.g. `result.final_state`);
      default `network.init_state(key=...)`.
    - `chunk_steps`: steps per compiled chunk; default from a 64 MiB recording budget.
    - `engine`: `"generic"` runs `Network.step` in a `lax.scan` (any model, any transformation);
      `"fused"` runs each chunk as one native CPU call that advances the whole network (see
      `brainsim.fused`): LIF populations (`ExponentialEuler`), `ExponentialSynapse` projections
      with `COBA`/`CUBA` outputs, one integer delay per projection, `CSR`/`ELL` connectivity,
      `ConstantCurrent` inputs, no `StateMonitor`s, float32, not under `jit`/`grad`/`vmap`,
      CPU backend with the native library built; a `ValueError` names the first condition that
      fails. `"auto"` (default) takes `"fused"` where it applies and `"generic"` otherwise.
      Both compute the same step with the same floating-point operations, so they give the same
      spikes and final state, and a run can continue from either engine's `final_state` on
      the other.

    **Returns:** a `SimulationResult` (spikes, rates, traces, final state, diagnostics).

    Raises `NonFiniteStateError` naming the population and step where NaN/Inf first appeared.
    """
    dt, n_steps = _check_time(duration, dt)
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network`; got {type(network).__name__}.")
    monitors = tuple(_check_monitor(network, as_monitor(m)) for m in monitors)
    spike_populations = _check_record_spikes(network, record_spikes)
    leaves = jtu.tree_leaves((network, key, initial_state))
    traced = any(isinstance(x, jax.core.Tracer) for x in leaves)
    plan = _choose_engine(engine, network, monitors, spike_populations, initial_state, key)
    chunk = _chunk_length(network, monitors, spike_populations, n_steps, chunk_steps, traced)
    if progress is None:
        progress = n_steps >= _PROGRESS_MIN_STEPS and not traced
    run = _run_chunk if traced else _run_chunk_jit
    first = _run_first_chunk if traced else _run_first_chunk_jit
    if plan is not None:
        run, first = _run_fused_jit, _run_first_fused_jit
    start_step = 0 if initial_state is None or traced else int(initial_state.step)

    chunks = []
    state = initial_state
    bar = tqdm(total=n_steps, unit="step", disable=not progress, desc="simulate")
    done = 0
    while done < n_steps:
        length = min(chunk, n_steps - done)
        static = (dt, length, monitors, spike_populations, traced if plan is None else plan)
        if state is None:  # initialise inside the first compiled chunk: one compilation, not two
            state, recorded = first(network, key, *static)
        else:
            state, recorded = run(network, state, key, *static)
        chunks.append(recorded if traced else jax.device_get(recorded))
        if not traced:
            _raise_if_nonfinite(recorded, start_step + done, dt)
        done += length
        bar.update(length)
    bar.close()
    return SimulationResult.from_chunks(
        chunks, network, monitors, spike_populations, dt, n_steps, start_step, state, traced
    )


def _run_chunk(network, state, key, dt, length, monitors, spike_populations, differentiable):
    """`length` steps in one `lax.scan`; spikes kept as floats (with their surrogate gradients)
    when `differentiable`, else as bools (a quarter of the memory). Steps draw their randomness
    from `fold_in(key, 1)` (folded again with the step index inside `Network.step`)."""
    key_run = jr.fold_in(key, 1)

    def body(state, _):
        new_state, record = network.step(state, dt, key_run)
        spikes = {
            name: record.spikes[name] if differentiable else record.spikes[name] > 0
            for name in spike_populations
        }
        counts = {name: jnp.sum(s > 0) for name, s in record.spikes.items()}
        traces = {m.name: _sample(new_state, m) for m in monitors}
        return new_state, (spikes, counts, traces, record.overflow, record.finite)

    state, (spikes, counts, traces, overflow, finite) = jax.lax.scan(
        body, state, None, length=length
    )
    traces = {m.name: traces[m.name][m.every - 1 :: m.every] for m in monitors}
    first_bad = {name: _first_false(ok) for name, ok in finite.items()}
    overflow = {name: jnp.sum(flags) for name, flags in overflow.items()}
    return state, _Recorded(spikes, counts, traces, overflow, first_bad)


def _run_first_chunk(network, key, dt, length, monitors, spike_populations, differentiable):
    """`network.init_state(key=fold_in(key, 0))`, then `_run_chunk`: initialising inside the
    compiled chunk saves a separate compilation (and eager dispatch of many small ops)."""
    state = network.init_state(key=jr.fold_in(key, 0), dt=dt)
    return _run_chunk(network, state, key, dt, length, monitors, spike_populations, differentiable)


_run_chunk_jit = eqx.filter_jit(_run_chunk)
_run_first_chunk_jit = eqx.filter_jit(_run_first_chunk)


def _choose_engine(engine, network, monitors, spike_populations, initial_state, key):
    """The `FusedPlan` when the fused engine runs, `None` for the generic engine."""
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}; got {engine!r}.")
    if engine == "generic":
        return None
    plan, reason = fused_plan(network, monitors, spike_populations, initial_state=initial_state, key=key)
    if plan is None and engine == "fused":
        raise ValueError(f"`engine='fused'` does not apply to this simulation: {reason}.")
    return plan


def _run_fused(network, state, key, dt, length, monitors, spike_populations, plan: FusedPlan):
    """`length` steps of the fused engine (one native call), recorded like `_run_chunk`."""
    state, spikes, counts, overflow, finite = run_fused_chunk(network, state, plan, dt, length)
    spikes = {name: spikes[name] for name in spike_populations}
    first_bad = {name: _first_false(ok) for name, ok in finite.items()}
    return state, _Recorded(spikes, counts, {}, overflow, first_bad)


def _run_first_fused(network, key, dt, length, monitors, spike_populations, plan: FusedPlan):
    state = network.init_state(key=jr.fold_in(key, 0), dt=dt)
    return _run_fused(network, state, key, dt, length, monitors, spike_populations, plan)


_run_fused_jit = eqx.filter_jit(_run_fused)
_run_first_fused_jit = eqx.filter_jit(_run_first_fused)


def _sample(state: NetworkState, monitor: StateMonitor):
    values = getattr(state.neurons[monitor.population], monitor.variable)
    if monitor.indices is not None:
        values = values[jnp.asarray(monitor.indices)]
    return values


def _first_false(ok) -> jax.Array:
    """Index of the first False in `ok`, or -1."""
    bad = jnp.logical_not(ok)
    return jnp.where(jnp.any(bad), jnp.argmax(bad), -1)


def _raise_if_nonfinite(recorded: _Recorded, first_step: int, dt: float) -> None:
    for name, index in recorded.first_nonfinite.items():
        if int(index) >= 0:
            step = first_step + int(index)
            raise NonFiniteStateError(
                f"population `{name}`: state became NaN/Inf at step {step} (t = {step * dt:g} ms). "
                "Check parameters and input currents, or reduce `dt`."
            )


def _check_time(duration, dt) -> tuple[float, int]:
    for name, value in (("duration", duration), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
            raise TypeError(f"`{name}` must be a number of ms; got {type(value).__name__}.")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"`{name}` must be > 0 ms; got {value}.")
    ratio = duration / dt
    n_steps = round(ratio)
    if n_steps < 1 or abs(ratio - n_steps) > 1e-6 * max(1.0, ratio):
        raise ValueError(
            f"`duration` must be a positive multiple of `dt`; got duration={duration} ms and "
            f"dt={dt} ms ({ratio:g} steps)."
        )
    return float(dt), int(n_steps)


def _check_monitor(network: Network, monitor: StateMonitor) -> StateMonitor:
    pop = _population_or_error(network, monitor.population, "monitor")
    state = jax.eval_shape(lambda: pop.neuron.init_state(pop.n, key=jr.key(0)))
    fields = [f.name for f in dataclasses.fields(state)]
    if monitor.variable not in fields:
        raise ValueError(
            f"unknown monitor variable `{monitor.variable}` of population `{pop.name}`; "
            f"its state has {fields}."
        )
    if monitor.indices is not None and any(i < 0 or i >= pop.n for i in monitor.indices):
        raise ValueError(
            f"monitor `{monitor.name}`: `indices` must be in [0, {pop.n - 1}]; got "
            f"{min(monitor.indices)}..{max(monitor.indices)}."
        )
    return monitor


def _check_record_spikes(network: Network, record_spikes) -> tuple[str, ...]:
    if record_spikes is True:
        return tuple(p.name for p in network.populations)
    if record_spikes is False:
        return ()
    names = tuple(record_spikes)
    for name in names:
        _population_or_error(network, name, "`record_spikes`")
    return names


def _population_or_error(network: Network, name: str, what: str):
    sizes = network.population_sizes
    if name not in sizes:
        raise ValueError(f"{what}: unknown population `{name}`; known: {sorted(sizes)}.")
    return network.population(name)


def _chunk_length(network, monitors, spike_populations, n_steps, chunk_steps, traced) -> int:
    if chunk_steps is not None:
        if isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int) or chunk_steps < 1:
            raise ValueError(f"`chunk_steps` must be an integer >= 1; got {chunk_steps!r}.")
        return min(chunk_steps, n_steps)
    if traced:
        return n_steps
    sizes = network.population_sizes
    per_step = sum(sizes[name] for name in spike_populations)
    per_step += sum(4 * (len(m.indices) if m.indices else sizes[m.population]) for m in monitors)
    chunk = max(1, min(_MAX_CHUNK_STEPS, _RECORD_BYTES_PER_CHUNK // max(per_step, 1)))
    if n_steps <= chunk:
        return n_steps
    for candidate in range(chunk, max(1, chunk // 4) - 1, -1):  # prefer a divisor: one compile
        if n_steps % candidate == 0:
            return candidate
    return chunk
