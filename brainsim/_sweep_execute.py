"""Running a batch of sweep points: one compiled, `vmap`ped program per (signature, swept
leaves, batch, chunk length), dispatched asynchronously; host records per point."""

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .fused import FusedPlan, available_cpus, fused_plan, run_fused_chunk
from .result import SimulationResult
from .run import step_recorder

BATCH_BYTES = 256 * 2**20
"""Device memory a batch of points may take (network leaves that vary, state, records)."""
RECORD_BYTES = 64 * 2**20
"""Records of one chunk of steps of a batch (as `simulate`'s budget per chunk)."""
MAX_BATCH = 64
"""Most points per batch when `batch_size` is not given."""


class Spec(NamedTuple):
    """What one compiled program runs (hashable: the cache key, with the signature)."""

    signature: tuple
    swept: frozenset
    batch: int
    length: int
    first: bool
    dt: float
    spike_pops: tuple[str, ...]
    plan: FusedPlan | None


class Compiler:
    """The compiled programs of one sweep (dropped with it: memory does not accumulate across
    sweeps), and how many compilations they took."""

    def __init__(self):
        self.programs: dict = {}
        self.count = 0
        self.seconds = 0.0

    def get(self, spec: Spec, layout, args):
        program = self.programs.get(spec)
        if program is None:
            start = time.perf_counter()
            program = jax.jit(_batched(spec, layout)).lower(*args).compile()
            self.seconds += time.perf_counter() - start
            self.count += 1
            self.programs[spec] = program
        return program


def _first_false(ok):
    bad = jnp.logical_not(ok)
    return jnp.where(jnp.any(bad), jnp.argmax(bad), -1)


def _batched(spec: Spec, layout):
    """`(swept, shared, keys, state) -> (state, records)` over a batch; the constant leaves
    are closed over (compile-time constants, as `simulate` makes Python numbers)."""
    constants = layout.constants()

    def point(swept, shared, key, state):
        network = layout.assemble(swept, shared, constants)
        if spec.first:
            state = network.init_state(key=jr.fold_in(key, 0), dt=spec.dt)
        if spec.plan is None:
            body = step_recorder(network, spec.dt, key, (), spec.spike_pops, guard_gradients=False)
            state, (outputs, counts, _, overflow, finite) = jax.lax.scan(
                body, state, None, length=spec.length
            )
            spikes = {name: outputs[name] > 0 for name in spec.spike_pops}
            counts = {name: c.astype(jnp.int32) for name, c in counts.items()}
            overflow = {name: jnp.sum(flags, dtype=jnp.int32) for name, flags in overflow.items()}
        else:
            state, spikes, counts, overflow, finite = run_fused_chunk(
                network, state, spec.plan, spec.dt, spec.length
            )
            spikes = {name: spikes[name] for name in spec.spike_pops}
        first_bad = {name: _first_false(ok) for name, ok in finite.items()}
        return state, (spikes, counts, overflow, first_bad)

    return jax.vmap(point, in_axes=(0, None, 0, None if spec.first else 0))


def choose_plan(engine: str, layout, network, spike_pops, key) -> FusedPlan | None:
    """The fused plan of a signature (computed on its representative with swept numbers made
    arrays, as the program sees them), or `None` for the generic engine."""
    if engine == "generic":
        return None
    plan, reason = fused_plan(layout.as_traced(network), (), spike_pops, key=key)
    if plan is None and engine == "fused":
        raise ValueError(f"`engine='fused'` does not apply to this sweep: {reason}.")
    return plan


def batch_and_length(
    network, layout, n_points: int, n_steps: int, spike_pops, batch_size, fused: bool
) -> tuple[int, int]:
    """`(points per batch, steps per chunk)` from the memory budgets (or `batch_size`); batches
    of a group are made equal (the last one padded by at most one point per batch).

    The fused engine runs as many points per batch as this process has CPUs: one native call
    for the batch, each point on its own thread (`brainsim.fused`), so points run in parallel
    without per-step synchronisation. (Before the kernel took batches it ran a `vmap`ped batch
    point after point: 12 points of COBA N = 4,000, 1 s, took 14.2 s one at a time, 18.5 s in
    batches of 4.)"""
    sizes = network.population_sizes
    swept_bytes = sum(np.asarray(layout.reference[i]).nbytes for i in layout.swept)
    state_bytes = sum(
        int(np.prod(x.shape)) * x.dtype.itemsize
        for x in jax.tree_util.tree_leaves(jax.eval_shape(lambda: network.init_state(key=jr.key(0))))
    )
    per_step = sum(sizes[name] for name in spike_pops) + 4 * len(network.emissions())
    if batch_size is None and fused:
        batch = min(n_points, available_cpus())
    elif batch_size is None:
        most = max(1, min(MAX_BATCH, BATCH_BYTES // max(1, swept_bytes + 3 * state_bytes)))
        chunks = -(-n_points // most)
        batch = -(-n_points // chunks)
    else:
        batch = min(batch_size, n_points)
    length = n_steps
    if batch * per_step * n_steps > RECORD_BYTES:
        length = max(1, RECORD_BYTES // (batch * per_step))
        for candidate in range(length, max(1, length // 4) - 1, -1):  # a divisor: one program
            if n_steps % candidate == 0:
                length = candidate
                break
    return batch, length


class Running(NamedTuple):
    """A dispatched batch: its points and the device values still to fetch."""

    indices: list[int]
    state: object
    records: list
    lengths: list[int]


def launch(
    compiler: Compiler, layout, networks, keys, indices, *, n_steps, length, dt, spike_pops, plan
) -> Running:
    """Dispatch every chunk of steps of one batch (asynchronously: the host returns while the
    device runs, fetching a chunk's records only before dispatching the one after next)."""
    swept, shared, _ = layout.split(networks)
    swept = [jax.device_put(x) for x in swept]
    state, records, lengths, done = None, [], [], 0
    while done < n_steps:
        steps = min(length, n_steps - done)
        spec = Spec(layout.signature, layout.swept, len(networks), steps, done == 0, dt, spike_pops, plan)
        args = (swept, shared, keys, state)
        state, recorded = compiler.get(spec, layout, args)(*args)
        if records:  # keep at most two chunks of records on the device
            records[-1] = jax.device_get(records[-1])
        records.append(recorded)
        lengths.append(steps)
        done += steps
    return Running(indices, state, records, lengths)


class Finished(NamedTuple):
    """Host results of one point: its `SimulationResult`, or the step where NaN/Inf appeared."""

    result: SimulationResult | None
    nonfinite: tuple[str, int] | None


def finish(running: Running, network_sizes, projections, dt: float) -> list[Finished]:
    """Fetch a batch's records and assemble one `SimulationResult` per point (host arrays)."""
    records = [jax.device_get(r) for r in running.records]
    state = jax.device_get(running.state)
    out = []
    for b, _ in enumerate(running.indices):
        counts = {name: np.concatenate([r[1][name][b] for r in records]) for name in records[0][1]}
        steps, neurons, bad = {}, {}, None
        for name in records[0][0]:
            parts = [np.nonzero(r[0][name][b]) for r in records]
            offsets = np.cumsum([0] + running.lengths[:-1])
            steps[name] = np.concatenate(
                [s + off for (s, _), off in zip(parts, offsets, strict=True)]
            ).astype(np.int64)
            neurons[name] = np.concatenate([i for _, i in parts]).astype(np.int64)
        offset = 0
        for r, steps_in_chunk in zip(records, running.lengths, strict=True):
            for name, index in r[3].items():
                if bad is None and int(index[b]) >= 0:
                    bad = (name, offset + int(index[b]))
            offset += steps_in_chunk
        n_steps = sum(running.lengths)
        result = SimulationResult(
            dt=dt,
            duration=n_steps * dt,
            n_steps=n_steps,
            start_time=0.0,
            sizes=network_sizes,
            counts=counts,
            spike_steps=steps,
            spike_indices=neurons,
            value_samples={},
            value_every=1,
            trace_samples={},
            trace_every=(),
            final_state=jax.tree_util.tree_map(lambda x, b=b: x[b], state),
            overflow={name: int(sum(int(r[2][name][b]) for r in records)) for name in projections},
        )
        out.append(Finished(result, bad))
    return out
