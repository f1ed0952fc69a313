"""`simulate`: the host driver of a run: chunked scans compiled once, progress bar, compact
spike records, NaN/Inf reported with the step, and the fused native engine where it applies.

`simulate` compiles one chunk of steps (connectivity is an argument, not a constant, so compile
time does not grow with the network) and reuses it across chunks and across calls with the same
shapes. Between chunks the host stores spikes compactly (step and neuron index), decimates
values and traces, and updates the progress bar; inside a chunk nothing leaves the device. It
runs the same step as `brainsim.run` (the pure, transformable function to use under
`jax.jit`, `jax.grad` and `jax.vmap`), so both give the same spikes for the same key.

With `checkpoint_every` and `checkpoint_dir` it also writes the state, key, step and records
to disk every so many ms of biological time (at chunk boundaries), and `resume_from` continues
a run from such a checkpoint exactly as if it had never stopped (see `brainsim.io.checkpoint`).
"""

import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from tqdm.auto import tqdm

from ._bounded_jit import BoundedJit
from ._validation import require_positive_int
from .fused import FusedPlan, fused_plan, run_fused_chunk
from .io._directory import check_directory
from .io._periodic import RunCheckpoints, resume, run_settings
from .network import Network, NetworkState
from .result import RecordSegment, SimulationResult
from .run import check_populations, check_run, check_time, step_recorder

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
    values: dict
    traces: dict
    overflow: dict
    first_nonfinite: dict


def simulate(
    network: Network,
    duration: float,
    dt: float = 0.1,
    *,
    key,
    inputs: dict | None = None,
    monitors=(),
    record_spikes: bool | tuple[str, ...] = True,
    record_values: bool | tuple[str, ...] = True,
    value_every: int = 1,
    progress: bool | None = None,
    initial_state: NetworkState | None = None,
    chunk_steps: int | None = None,
    engine: str = "auto",
    checkpoint_every: float | None = None,
    checkpoint_dir: str | pathlib.Path | None = None,
    resume_from: str | pathlib.Path | None = None,
) -> SimulationResult:
    r"""Simulate `network` for `duration` ms with fixed step `dt` ms, driven from the host.

    **Arguments:**
    - `network`: the `Network`.
    - `duration`: ms; a positive multiple of `dt`.
    - `dt`: time step, ms; > 0 (0.1 ms is the benchmark step).
    - `key`: a `jax.random` key (`jax.random.key(0)`); the same key gives the same spikes.
    - `inputs`: the data channel, as in `brainsim.run`: `{name: array}` with a leading axis
      of `n_steps` (host NumPy or device arrays; sliced per chunk).
    - `monitors`: `StateMonitor`s, `Monitor`s, or strings `"target.variable"` (e.g. `"E.v"`).
    - `record_spikes`: spiking populations whose spikes to keep: `True` (all), `False`, or a
      tuple of names. Spike counts per step (hence rates) are always kept.
    - `record_values`: value populations (e.g. `RateUnit`) whose outputs to keep, one sample
      every `value_every` steps.
    - `progress`: show a tqdm bar (updated between chunks); default: for runs of 50,000 steps
      or more.
    - `initial_state`: continue from this `NetworkState` (e.g. `result.final_state`);
      default `network.init_state(key=...)`.
    - `chunk_steps`: steps per compiled chunk; default from a 64 MiB recording budget.
    - `engine`: `"generic"` runs `Network.step` in a `lax.scan` (any model); `"fused"` runs each
      chunk as one native CPU call that advances the whole network (see `brainsim.fused`,
      which says what it accepts and refuses anything else with the reason); `"auto"`
      (default) takes `"fused"` where it applies and `"generic"` otherwise. Both give the same
      spikes and final state, and a run can continue from either engine's `final_state`.
    - `checkpoint_every`: ms of biological time between checkpoints written to
      `checkpoint_dir` (a positive multiple of `dt`; both or neither). Each holds the state,
      key, step and the records so far (the network too, written once per run); a crash loses
      at most the steps since the last one. (Not `brainsim.run`'s `checkpoint_every`, which
      counts steps between rematerialisation points of `jax.grad`: `simulate` computes no
      gradients, so here the name means what it says on disk.)
    - `checkpoint_dir`: the directory for those checkpoints (created if missing; one run per
      directory: each checkpoint replaces the previous one).
    - `resume_from`: a directory holding a checkpoint of this same call (same network, key,
      `duration`, `dt`, records, monitors and inputs, each checked): the run continues from it
      and returns the whole run's result, equal bit for bit to an uninterrupted run (either
      engine). It may be `checkpoint_dir` itself, to keep checkpointing after a crash.

    **Returns:** a `SimulationResult` (spikes, rates, values, traces, final state, diagnostics).

    Raises `NonFiniteStateError` naming the population and step where NaN/Inf first appeared,
    and `TypeError` under `jax.jit`/`grad`/`vmap`: use `brainsim.run` there. A checkpoint that
    is truncated, corrupted, of another format version or of another network raises
    `brainsim.io.FileFormatError` naming the file and the part.
    """
    leaves = jtu.tree_leaves((network, key, inputs, initial_state))
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        raise TypeError(
            "`simulate` is the host driver (chunks, progress, compact records) and cannot run under "
            "`jax.jit`/`grad`/`vmap`; use `bs.run(...)`, the pure function that returns arrays."
        )
    dt, n_steps = check_time(duration, dt)
    monitors, record, data = check_run(
        network, n_steps, dt, key, inputs, initial_state, monitors, record_spikes, "`record_spikes`"
    )
    emissions = network.emissions()
    spike_pops = _of_kind(record, record_spikes, emissions, "spikes", "`record_spikes`", "`record_values`")
    values = check_populations(network, record_values, "`record_values`")
    value_pops = _of_kind(values, record_values, emissions, "values", "`record_values`", "`record_spikes`")
    require_positive_int("value_every", value_every)
    every = _checkpoint_steps(checkpoint_every, checkpoint_dir, dt)
    start_step = 0 if initial_state is None else int(initial_state.step)
    state, segments, done, checkpoints = initial_state, [], 0, None
    if every is not None or resume_from is not None:
        settings = run_settings(
            dt=dt,
            n_steps=n_steps,
            start_step=start_step,
            spike_pops=spike_pops,
            value_pops=value_pops,
            value_every=value_every,
            monitors=monitors,
            data=data,
        )
        state, segments, done, start_step, checkpoints = _checkpointed_start(
            network, key, settings, every, checkpoint_dir, resume_from, initial_state
        )
    plan = _choose_engine(engine, network, monitors, spike_pops, state, key, data)
    chunk = _chunk_length(network, monitors, spike_pops, value_pops, n_steps, chunk_steps, every)
    if progress is None:
        progress = n_steps >= _PROGRESS_MIN_STEPS

    bar = tqdm(total=n_steps, initial=done, unit="step", disable=not progress, desc="simulate")
    while done < n_steps:
        length = min(chunk, n_steps - done)
        if every is not None:
            length = min(length, every - done % every)  # checkpoints fall on chunk boundaries
        data_chunk = {name: x[done : done + length] for name, x in data.items()}
        if plan is not None:
            static = (dt, length, spike_pops, plan)
            fn = _JITTED[_first_fused_chunk if state is None else _fused_chunk]
        else:
            static = (dt, length, monitors, spike_pops, value_pops)
            fn = _JITTED[_first_chunk if state is None else _chunk]
        if state is None:  # initialise inside the first compiled chunk: one compilation, not two
            state, recorded = fn(network, key, data_chunk, *static)
        else:
            state, recorded = fn(network, state, key, data_chunk, *static)
        recorded = jax.device_get(recorded)
        _raise_if_nonfinite(recorded, start_step + done, dt)
        segment = _segment(_decimate(recorded, done, monitors, value_every), done, length)
        segments.append(segment)
        done += length
        if checkpoints is not None:
            checkpoints.add(segment)
            if checkpoints.due(done):
                checkpoints.save(state, done)
        bar.update(length)
    bar.close()
    return SimulationResult.from_segments(
        segments,
        sizes=tuple(network.population_sizes.items()),
        value_every=value_every,
        trace_every=tuple((m.name, m.every) for m in monitors),
        dt=dt,
        start_step=start_step,
        final_state=state,
    )


def _checkpointed_start(network, key, settings: dict, every, checkpoint_dir, resume_from, initial_state):
    """Where the run starts, `(state, segments, done, start_step, checkpoints)`: from the
    checkpoint in `resume_from` if given (checked against this call's `settings`), else from
    `initial_state`; `checkpoints` writes to `checkpoint_dir` every `every` steps, or is `None`."""
    state, segments, done, resumed = initial_state, [], 0, None
    if resume_from is not None:
        resumed = resume(check_directory(resume_from, "resume_from"), network, key, settings, initial_state)
        state, segments, done = resumed.state, list(resumed.segments), resumed.done
        settings = settings | {"start_step": resumed.manifest["run"]["start_step"]}
    checkpoints = None
    if every is not None:
        directory = check_directory(checkpoint_dir, "checkpoint_dir")
        checkpoints = RunCheckpoints(directory, network, key, settings, every, resumed)
    return state, segments, done, settings["start_step"], checkpoints


def _checkpoint_steps(checkpoint_every, checkpoint_dir, dt: float) -> int | None:
    """Steps between checkpoints, from `checkpoint_every` in ms (`None`: no checkpoints)."""
    if checkpoint_every is None and checkpoint_dir is None:
        return None
    if checkpoint_every is None or checkpoint_dir is None:
        given, missing = (
            ("checkpoint_dir", "checkpoint_every")
            if checkpoint_every is None
            else ("checkpoint_every", "checkpoint_dir")
        )
        raise ValueError(
            f"`{given}` needs `{missing}` too: checkpoints are written every `checkpoint_every` ms "
            "to `checkpoint_dir`."
        )
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int | float):
        raise TypeError(
            "`checkpoint_every` must be a number of ms of biological time; got "
            f"{type(checkpoint_every).__name__}."
        )
    ratio = checkpoint_every / dt
    steps = round(ratio) if np.isfinite(ratio) else 0
    if steps < 1 or abs(ratio - steps) > 1e-6 * max(1.0, ratio):
        raise ValueError(
            f"`checkpoint_every` must be a positive multiple of `dt` ({dt} ms), in ms of biological "
            f"time; got {checkpoint_every}. (`brainsim.run`'s `checkpoint_every`, for gradients, "
            "counts steps instead.)"
        )
    return steps


def _segment(recorded: "_Recorded", first_step: int, length: int) -> RecordSegment:
    """The host records of one chunk, spikes made compact (step of the run, neuron index)."""
    steps, indices = {}, {}
    for name, spiked in recorded.spikes.items():
        s, i = np.nonzero(spiked)
        steps[name] = (s + first_step).astype(np.int64)
        indices[name] = i.astype(np.int64)
    return RecordSegment(
        n_steps=length,
        counts=dict(recorded.counts),
        spike_steps=steps,
        spike_indices=indices,
        values=dict(recorded.values),
        traces=dict(recorded.traces),
        overflow={name: int(n) for name, n in recorded.overflow.items()},
    )


def _chunk(network, state, key, data, dt, length, monitors, spike_pops, value_pops):
    """`length` steps in one `lax.scan`, spikes kept as bools (a quarter of the memory)."""
    body = step_recorder(network, dt, key, monitors, spike_pops + value_pops, guard_gradients=False)
    state, (outputs, counts, traces, overflow, finite) = jax.lax.scan(
        body, state, data if data else None, length=length
    )
    return state, _Recorded(
        spikes={name: outputs[name] > 0 for name in spike_pops},
        counts={name: c.astype(jnp.int32) for name, c in counts.items()},
        values={name: outputs[name] for name in value_pops},
        traces=traces,
        overflow={name: jnp.sum(flags) for name, flags in overflow.items()},
        first_nonfinite={name: _first_false(ok) for name, ok in finite.items()},
    )


def _first_chunk(network, key, data, dt, length, monitors, spike_pops, value_pops):
    """`network.init_state(key=fold_in(key, 0))`, then `_chunk`: initialising inside the
    compiled chunk saves a separate compilation (and eager dispatch of many small ops)."""
    state = network.init_state(key=jr.fold_in(key, 0), dt=dt)
    return _chunk(network, state, key, data, dt, length, monitors, spike_pops, value_pops)


def _fused_chunk(network, state, key, data, dt, length, spike_pops, plan: FusedPlan):
    """`length` steps of the fused engine (one native call), recorded like `_chunk`."""
    state, spikes, counts, overflow, finite = run_fused_chunk(network, state, plan, dt, length)
    spikes = {name: spikes[name] for name in spike_pops}
    first_bad = {name: _first_false(ok) for name, ok in finite.items()}
    return state, _Recorded(spikes, counts, {}, {}, overflow, first_bad)


def _first_fused_chunk(network, key, data, dt, length, spike_pops, plan: FusedPlan):
    state = network.init_state(key=jr.fold_in(key, 0), dt=dt)
    return _fused_chunk(network, state, key, data, dt, length, spike_pops, plan)


_COMPILED_KEPT = 4
"""Programs kept per chunk function (`BoundedJit`): calls alternating between a few networks
reuse them; more distinct shapes recompile instead of accumulating."""
_JITTED = {
    f: BoundedJit(f, _COMPILED_KEPT) for f in (_chunk, _first_chunk, _fused_chunk, _first_fused_chunk)
}


def _choose_engine(engine, network, monitors, spike_pops, initial_state, key, data):
    """The `FusedPlan` when the fused engine runs, `None` for the generic engine."""
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}; got {engine!r}.")
    if engine == "generic":
        return None
    plan, reason = fused_plan(
        network, monitors, spike_pops, initial_state=initial_state, key=key, inputs=data
    )
    if plan is None and engine == "fused":
        raise ValueError(f"`engine='fused'` does not apply to this simulation: {reason}.")
    return plan


def _decimate(recorded: _Recorded, first_step: int, monitors, value_every: int) -> _Recorded:
    """Keep the samples of steps `s` (counted from the start of the run) with `(s + 1) % every
    == 0`, so decimation does not depend on chunk boundaries."""

    def keep(x, every):
        return x[(every - 1 - first_step) % every :: every]

    every = {m.name: m.every for m in monitors}
    return _Recorded(
        recorded.spikes,
        recorded.counts,
        {name: keep(x, value_every) for name, x in recorded.values.items()},
        {name: keep(x, every[name]) for name, x in recorded.traces.items()},
        recorded.overflow,
        recorded.first_nonfinite,
    )


def _of_kind(names, asked, emissions, kind, what, other) -> tuple[str, ...]:
    """The populations of `names` that emit `kind`; naming one of the other kind explicitly
    (not through `True`) is an error that points to `other`."""
    if asked is not True:
        for name in names:
            if emissions[name] != kind:
                raise ValueError(
                    f"{what}: population `{name}` emits {emissions[name]}, not {kind}; use {other}."
                )
    return tuple(n for n in names if emissions[n] == kind)


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


def _chunk_length(network, monitors, spike_pops, value_pops, n_steps, chunk_steps, every) -> int:
    """Steps per compiled chunk: `chunk_steps`, or as many as fit the recording budget,
    preferring a divisor of the checkpoint interval `every` (else of `n_steps`) so that every
    chunk has one length (one compilation)."""
    if chunk_steps is not None:
        if isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int) or chunk_steps < 1:
            raise ValueError(f"`chunk_steps` must be an integer >= 1; got {chunk_steps!r}.")
        return min(chunk_steps, n_steps)
    sizes = network.population_sizes
    per_step = sum(sizes[name] for name in spike_pops) + sum(4 * sizes[name] for name in value_pops)
    if monitors:
        state = jax.eval_shape(lambda: network.init_state(key=jr.key(0)))
        per_step += sum(4 * int(np.prod(jax.eval_shape(m.sample, state).shape)) for m in monitors)
    chunk = max(1, min(_MAX_CHUNK_STEPS, _RECORD_BYTES_PER_CHUNK // max(per_step, 1)))
    period = n_steps if every is None else min(every, n_steps)
    if period <= chunk:
        return period
    for candidate in range(chunk, max(1, chunk // 4) - 1, -1):  # prefer a divisor: one compile
        if period % candidate == 0:
            return candidate
    return chunk
