"""`run_sharded`: a whole simulation of a `ShardedNetwork`, one `shard_map` over the mesh.

Each device steps the neurons it holds (state, per-neuron parameters, the synapses onto
them) through the same phases as `Network.step`; the only communication is the spike
exchange of `brainsim.distributed.exchange`, once per `exchange_every` steps. Randomness is
drawn exactly as on one device (the same keys, folded with the step and the input's index),
for the whole target population, and each device keeps its slots' share, so the spikes do
not depend on the number of devices or the partition.
"""

import functools as ft

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec
from jaxtyping import PRNGKeyArray

from ..dynamics import AbstractEventInput
from ..network import InputState, NetworkState, ProjectionState, advance_population
from ..network.history import read_history
from ..network.step import all_finite
from ..ops import Dense, event_matvec
from ..run import (
    RunResult,
    check_initial_state,
    check_key,
    check_populations,
    check_time,
    error_if_not_finite,
)
from ._compat import shard_map_function
from .exchange import pack_spikes, unpack_spikes
from .sharded import ShardedNetwork

shard_map = shard_map_function(jax)


def run_sharded(
    sharded: ShardedNetwork,
    duration: float,
    dt: float = 0.1,
    *,
    key: PRNGKeyArray,
    initial_state: NetworkState | None = None,
    record: bool | tuple[str, ...] = True,
) -> RunResult:
    """Run a sharded network for `duration` ms with step `dt` ms on its mesh.

    The spikes equal those of `brainsim.run(sharded.network, duration, dt, key=key)` (same
    key, same initial state), on any number of devices and for any partition, on CPU: each
    device adds each neuron's inputs in the single-device order. (On GPU, XLA's scatter-add
    is atomic and its order unspecified, so neither run is bit-reproducible there.) The run
    is forward-only: the exchange carries 0/1 spikes, not their surrogate gradients.

    **Arguments:**
    - `sharded`: from `brainsim.distributed.shard`.
    - `duration` (ms, a positive multiple of `dt`), `dt` (ms, > 0).
    - `key`: a `jax.random` key, used as `run` uses it.
    - `initial_state`: a global `NetworkState` to start from (default
      `network.init_state(key=jax.random.fold_in(key, 0))`, as `run`).
    - `record`: populations whose spikes to return (`True`: all).

    **Returns:** a `RunResult` in global neuron order: `outputs` per recorded population
    `(n_steps, n)`, `spike_counts`, `overflow_steps` and the global `final_state`
    (`traces` is empty: no monitors).
    """
    if not isinstance(sharded, ShardedNetwork):
        raise TypeError(
            f"`sharded` must come from `brainsim.distributed.shard`; got {type(sharded).__name__}."
        )
    network = sharded.network
    dt, n_steps = check_time(duration, dt)
    check_key(key)
    for inp in network.inputs:
        inp.check_dt(dt)
    recorded = check_populations(network, record, "`record`")
    if initial_state is None:  # eagerly, as `run` does: the same initial values bit for bit
        initial_state = network.init_state(key=jr.fold_in(key, 0), dt=dt)
    else:
        check_initial_state(network, initial_state)
    outputs, counts, overflow, finite, final_state = _run(
        sharded.varying, initial_state, key, plan=sharded, n_steps=n_steps, dt=dt, recorded=recorded
    )
    result = RunResult(
        dt=dt,
        n_steps=n_steps,
        sizes=tuple(network.population_sizes.items()),
        outputs=outputs,
        spike_counts=counts,
        traces={},
        overflow_steps={name: jnp.sum(flags) for name, flags in overflow.items()},
        final_state=final_state,
    )
    return error_if_not_finite(result, finite, "`run_sharded`")


@ft.partial(jax.jit, static_argnames=("plan", "n_steps", "dt", "recorded"))
def _run(varying, initial_state, key, *, plan: ShardedNetwork, n_steps, dt, recorded):
    network, layout = plan.network, plan.layout
    sizes = _state_sizes(network)
    state = _to_devices(initial_state, sizes, layout)
    spec = PartitionSpec(plan.axis)
    body = ft.partial(_device_run, plan=plan, n_steps=n_steps, dt=dt, recorded=recorded)
    mapped = shard_map(body, mesh=plan.mesh, in_specs=(spec, spec, PartitionSpec()), out_specs=spec)
    state, (fired, counts, finite) = mapped(varying, state, key)
    outputs = {
        name: jnp.moveaxis(x, 0, 1).reshape(n_steps, -1)[:, layout.positions[name]]
        for name, x in fired.items()
    }
    counts = {name: jnp.sum(x, axis=0) for name, x in counts.items()}
    overflow = _overflow(network, initial_state, counts, n_steps)
    finite = {name: jnp.all(x, axis=0) for name, x in finite.items()}
    return outputs, counts, overflow, finite, _from_devices(state, initial_state, sizes, layout)


def _device_run(varying, state, key, *, plan, n_steps, dt, recorded):
    """One device's whole run: intervals of `exchange_every` steps (the last one shorter if
    they do not divide the run), each ended by an exchange."""
    comp = plan.components(varying)
    state = NetworkState(**jtu.tree_map(lambda x: x[0], state))
    key_run = jr.fold_in(key, 1)  # as `run`: steps draw from fold_in(key, 1)
    every = plan.exchange_every

    def one_step(state, _):
        state, fired, finite = _local_step(plan, comp, state, key_run, dt)
        return state, (fired, finite)

    def interval(length, state):
        state, (fired, finite) = lax.scan(one_step, state, None, length=length)
        state = _exchange(plan, comp, state, fired)
        counts = {name: jnp.sum(x, axis=-1) for name, x in fired.items()}
        return state, ({name: fired[name] for name in recorded}, counts, finite)

    full, rest = divmod(n_steps, every)
    state, ys = lax.scan(lambda s, _: interval(every, s), state, None, length=full)
    ys = jtu.tree_map(lambda y: y.reshape((full * every,) + y.shape[2:]), ys)
    if rest:  # a last, shorter interval
        state, last = interval(rest, state)
        ys = jtu.tree_map(lambda y, z: jnp.concatenate([y, z]), ys, last)
    stacked = {field: getattr(state, field) for field in _STATE_FIELDS}
    return jtu.tree_map(lambda x: x[None], stacked), jtu.tree_map(lambda y: y[None], ys)


def _local_step(plan: ShardedNetwork, comp: dict, state: NetworkState, key_run, dt: float):
    """One step of one device's neurons: the phases of `brainsim.network.step` with this
    device's components; presynaptic spikes come from the (global) history rings."""
    network, dtype = plan.network, jnp.result_type(float)
    sizes, take = network.population_sizes, comp["take"]
    t = state.step.astype(dtype) * dt
    step_key = jr.fold_in(key_run, state.step)
    arrived = read_history(network, state)
    projections = {}
    for proj in network.projections:  # deliver
        conn, synapse, _ = comp["projections"][proj.name]
        delivered = event_matvec(conn, arrived[proj.name])
        current = state.projections[proj.name].synapse
        projections[proj.name] = ProjectionState(synapse.on_events(current, delivered))
    inputs = list(state.inputs)
    for k, inp in enumerate(network.inputs):
        if isinstance(inp, AbstractEventInput):  # drawn for the whole population, then sliced
            whole = inp.delivered(t, dt, sizes[inp.target], jr.fold_in(step_key, k))
            synapse, _ = comp["inputs"][k]
            inputs[k] = InputState(synapse.on_events(state.inputs[k].synapse, whole[take[inp.target]]))
    drives = {
        p.name: comp["neurons"][p.name].zero_input(take[p.name].shape[0], dtype) for p in network.populations
    }
    for proj in network.projections:  # assemble inputs
        _, synapse, output = comp["projections"][proj.name]
        drives[proj.post] = output.apply(drives[proj.post], synapse.value(projections[proj.name].synapse))
    for k, inp in enumerate(network.inputs):
        target = inp.target
        if isinstance(inp, AbstractEventInput):
            synapse, output = comp["inputs"][k]
            drives[target] = output.apply(drives[target], synapse.value(inputs[k].synapse))
        else:
            drives[target] = drives[target].add_current(inp.current_at(t, sizes[target])[take[target]])
    populations, fired, finite = {}, {}, {}
    for pop in network.populations:  # advance populations and emit
        model = comp["neurons"][pop.name]
        new, out = advance_population(model, pop, state.populations[pop.name], drives[pop.name], {}, t, dt)
        populations[pop.name] = new
        fired[pop.name] = jnp.where(comp["real"][pop.name], out, jnp.zeros((), out.dtype))
        finite[pop.name] = all_finite(new.neuron)
    for proj in network.projections:  # advance projections
        _, synapse, _ = comp["projections"][proj.name]
        projections[proj.name] = ProjectionState(synapse.advance(projections[proj.name].synapse, t, dt))
    for k, inp in enumerate(network.inputs):
        if isinstance(inp, AbstractEventInput):
            synapse, _ = comp["inputs"][k]
            inputs[k] = InputState(synapse.advance(inputs[k].synapse, t, dt))
    new_state = NetworkState(state.step + 1, populations, projections, tuple(inputs), state.history)
    return new_state, fired, finite


def _exchange(plan: ShardedNetwork, comp: dict, state: NetworkState, fired: dict) -> NetworkState:
    """All-gather the packed boundary spikes of the interval's steps (`fired`: per population
    `(steps, m_p)`), add this device's own spikes, and write the result, in global order,
    into every history ring."""
    widths = plan.exchange_widths
    if not widths:
        return state
    every = next(iter(fired.values())).shape[0]
    sent = {
        name: (fired[name][:, comp["send"][name]] > 0) & comp["send_real"][name][None, :] for name in widths
    }
    gathered = lax.all_gather(pack_spikes(sent), plan.axis)  # (D, M, bytes)
    positions = {name: plan.boundary[name][1] for name in widths}
    spikes = unpack_spikes(gathered, widths, positions)
    first = state.step - every
    history = {}
    for name, ring in state.history.items():
        n = ring.shape[1]
        own = jnp.where(comp["real"][name], comp["take"][name], n)  # padding: dropped
        arrived = spikes[name].at[:, own].set(fired[name] > 0, mode="drop")
        rows = (first + jnp.arange(every, dtype=first.dtype)) % ring.shape[0]
        history[name] = ring.at[rows].set(arrived.astype(ring.dtype))
    return NetworkState(state.step, state.populations, state.projections, state.inputs, history)


def _overflow(network, initial_state: NetworkState, counts: dict, n_steps: int) -> dict:
    """Per projection, per step, whether its event buffer overflowed (more active presynaptic
    rows than `max_active`), as `Network.step` reports it, from the global spike counts: a
    device sees only the spikes that reach it, so the flag is computed from all of them."""
    flags = {}
    for proj in network.projections:
        ring = initial_state.history[proj.pre]
        source = jnp.arange(n_steps) - proj.delay_steps  # the step whose spikes arrive
        before = jnp.sum(ring[source % ring.shape[0]] != 0, axis=-1).astype(counts[proj.pre].dtype)
        arrived = jnp.where(source < 0, before, counts[proj.pre][jnp.maximum(source, 0)])
        if isinstance(proj.connectivity, Dense):  # a matrix product: no buffer
            flags[proj.name] = jnp.zeros(n_steps, bool)
        else:  # `CSR`, `ELL`, `Procedural`
            flags[proj.name] = arrived > proj.connectivity.max_active
    return flags


def _state_sizes(network) -> dict:
    """The state's structure with, per component, the size of its neuron axis (None where the
    component is not per neuron): which leaves a device holds a slice of."""
    sizes = network.population_sizes
    return {
        "populations": {p.name: (p.name, sizes[p.name]) for p in network.populations},
        "projections": {p.name: (p.post, sizes[p.post]) for p in network.projections},
        "inputs": tuple((inp.target, sizes[inp.target]) for inp in network.inputs),
    }


_STATE_FIELDS = ("step", "populations", "projections", "inputs", "history")


def _to_devices(state: NetworkState, sizes: dict, layout) -> dict:
    """The global state as device-stacked arrays `(D, ...)`, a dict of `NetworkState`'s fields:
    per-neuron leaves gathered at each device's slots, the rest (step, history rings) copied to
    every device."""
    d = layout.n_devices

    def split(tree, where):
        population, n = where
        slots = jnp.asarray(np.maximum(layout.slots[population], 0))

        def leaf(x):
            x = jnp.asarray(x)
            if x.ndim >= 1 and x.shape[0] == n:
                return x[slots]
            return jnp.broadcast_to(x, (d,) + x.shape)

        return jtu.tree_map(leaf, tree)

    copy = lambda x: jnp.broadcast_to(x, (d,) + jnp.shape(x))  # noqa: E731
    return {
        "step": copy(state.step),
        "populations": {name: split(s, sizes["populations"][name]) for name, s in state.populations.items()},
        "projections": {name: split(s, sizes["projections"][name]) for name, s in state.projections.items()},
        "inputs": tuple(split(s, w) for s, w in zip(state.inputs, sizes["inputs"], strict=True)),
        "history": {name: copy(ring) for name, ring in state.history.items()},
    }


def _from_devices(state: dict, reference: NetworkState, sizes: dict, layout) -> NetworkState:
    """Invert `_to_devices` (`reference`: the global state it split): per-neuron leaves back in
    global order, the copies taken from device 0."""

    def join(tree, like, where):
        population, n = where
        positions = layout.positions[population]

        def leaf(x, ref):
            if jnp.ndim(ref) >= 1 and jnp.shape(ref)[0] == n:
                return x.reshape((-1,) + x.shape[2:])[positions]
            return x[0]

        return jtu.tree_map(leaf, tree, like)

    return NetworkState(
        state["step"][0],
        {
            name: join(s, reference.populations[name], sizes["populations"][name])
            for name, s in state["populations"].items()
        },
        {
            name: join(s, reference.projections[name], sizes["projections"][name])
            for name, s in state["projections"].items()
        },
        tuple(
            join(s, r, w) for s, r, w in zip(state["inputs"], reference.inputs, sizes["inputs"], strict=True)
        ),
        {name: ring[0] for name, ring in state["history"].items()},
    )
