"""`shard`: a network split over the devices of a 1-D mesh, ready for `run_sharded`."""

import dataclasses
from dataclasses import dataclass
from typing import Any

import jax
import jax.tree_util as jtu
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..dynamics import AbstractCurrentInput, AbstractEventInput, AbstractSpikingNeuron
from ..network import Network
from ..ops import stored_synapses
from .exchange import CommunicationReport, destination_counts, packed_bytes, spike_counts_per_step
from .layout import DeviceLayout, activity_rates, contiguous_part, device_layout, metis_part
from .localize import per_neuron, post_columns

AXIS = "neurons"
PARTITIONS = ("contiguous", "metis")


@dataclass(frozen=True, eq=False)
class ShardedNetwork:
    """A `Network` split over the devices of a 1-D mesh (build it with `shard`).

    **Fields:**
    - `network`: the network (global numbering; its parameters are not sent to devices).
    - `mesh`: the 1-D `jax.sharding.Mesh`; `axis`: its axis name.
    - `layout`: the `DeviceLayout` (which device holds which neuron, and in which slot).
    - `partition`: `"contiguous"`, `"metis"` or `"given"`.
    - `exchange_every`: steps per spike exchange, in [1, shortest delay].
    - `boundary`: per exchanged population, `(send, positions)`: `send` `(D, b_p)`, the slots
      each device sends (its neurons with a target on another device; `-1` pads), and
      `positions` `(n_p,)`, each neuron's entry `d * b_p + r` in the gathered buffer (`-1`:
      never sent).
    - `shared`, `varying`, `treedef`: the per-device components (models with per-neuron
      parameters gathered to the device's slots, postsynaptic columns of each connectivity,
      slot tables): leaves equal on every device, device-stacked leaves `(D, ...)` placed on
      the mesh, and the structure that joins them.
    """

    network: Network
    mesh: Mesh
    axis: str
    layout: DeviceLayout
    partition: str
    exchange_every: int
    boundary: dict[str, tuple[np.ndarray, np.ndarray]]
    shared: tuple[Any, ...]
    varying: tuple[Any, ...]
    treedef: Any

    @property
    def n_devices(self) -> int:
        return self.layout.n_devices

    @property
    def exchanged_populations(self) -> tuple[str, ...]:
        """Populations whose spikes are exchanged (those with outgoing projections)."""
        return tuple(self.network.history_lengths())

    @property
    def exchange_widths(self) -> dict[str, int]:
        """Entries per device `b_p` (the largest boundary) of each exchanged population, in
        buffer order."""
        return {name: send.shape[1] for name, (send, _) in self.boundary.items()}

    @property
    def packed_bytes_per_exchange(self) -> int:
        """Bytes one device sends per exchange (the packed boundary spikes of `exchange_every`
        steps), measured from the buffer `pack_spikes` builds."""
        return packed_bytes(self.exchange_widths, self.exchange_every) if self.boundary else 0

    @property
    def full_packed_bytes_per_exchange(self) -> int:
        """Bytes per device and exchange if every slot were sent (no boundary filter)."""
        widths = {name: self.layout.local_size(name) for name in self.boundary}
        return packed_bytes(widths, self.exchange_every) if widths else 0

    def components(self, varying) -> dict:
        """The per-device components from the device's slice of `varying` (leading axis of
        size 1, as `shard_map` hands it over) and the shared leaves."""
        leaves = [
            v[0] if s is _VARYING else s
            for s, v in zip(self.shared, _align(self.shared, varying), strict=True)
        ]
        return jtu.tree_unflatten(self.treedef, leaves)

    def communication_report(self, outputs: dict) -> CommunicationReport:
        """Bytes exchanged per step, implemented (`all_gather` of packed spikes) and for compact
        index lists, from `outputs` (per population, spikes `(T, n)`, e.g. `RunResult.outputs`
        of this or a single-device run; every exchanged population must be recorded)."""
        names = self.exchanged_populations
        missing = [name for name in names if name not in outputs]
        if missing:
            raise ValueError(f"`outputs` must hold the spikes of {list(names)}; missing {missing}.")
        d, every = self.n_devices, self.exchange_every
        graph = self.network.synapse_graph()
        pre, post, _, _ = graph.global_edges()
        part = self.layout.part
        offsets = graph.offsets
        destinations = destination_counts(pre, post, part, d)
        columns = (
            np.concatenate([offsets[name] + np.arange(self.network.population(name).n) for name in names])
            if names
            else np.zeros(0, np.int64)
        )
        spikes = spike_counts_per_step(outputs, names) if names else np.zeros((1, 0))
        per_step = spikes @ destinations[columns] if names else np.zeros(1)
        cross = float(np.mean(per_step))
        return CommunicationReport(
            partition=self.partition,
            n_devices=d,
            exchange_every=every,
            all_gather_bytes_per_step=d * (d - 1) * self.packed_bytes_per_exchange / every,
            full_gather_bytes_per_step=d * (d - 1) * self.full_packed_bytes_per_exchange / every,
            index_list_bytes_per_step=4.0 * cross + 4.0 * d * (d - 1) / every,
            cross_device_spikes_per_step=cross,
            cut_synapse_fraction=float(np.mean(part[pre] != part[post])) if pre.size else 0.0,
            padding_fraction=self.layout.padding_fraction(),
        )


class _Varying:
    def __repr__(self):
        return "<varying>"


_VARYING = _Varying()


def _align(shared, varying):
    it = iter(varying)
    return [next(it) if s is _VARYING else None for s in shared]


def shard(
    network: Network,
    devices: int | Mesh,
    *,
    partition: str | np.ndarray = "metis",
    activity=None,
    seed: int = 0,
    exchange_every: int | str = 1,
) -> ShardedNetwork:
    """Split `network`'s neurons over devices for `run_sharded`.

    **Arguments:**
    - `network`: a `Network` of spiking populations, projections with one delay each
      (`delay_steps`), fixed weights, formats `CSR`, `ELL`, `Dense` or homogeneous
      `Procedural`, and current or event inputs (`ConstantCurrent`, `CurrentFunction`,
      `PoissonInput`, `SpikeTimes`). Anything else raises a `TypeError`/`ValueError` naming
      the component (the multi-device path fails closed rather than run it differently).
    - `devices`: a number of devices `D` (the first `D` of `jax.devices()`), or a 1-D `Mesh`
      (its axis name is used).
    - `partition`: `"metis"` (the hardware mapper's partitioner on the activity-weighted
      graph), `"contiguous"`, or an int array `(n_neurons,)` of device ids in `[0, D)`
      (global numbering, populations in network order).
    - `activity`: weights for METIS: `None` (all neurons alike), per-neuron rates `(n_neurons,)`
      in Hz, a `SimulationResult` or a `RunResult` of the network.
    - `seed`: METIS seed.
    - `exchange_every`: steps per spike exchange, an int in [1, shortest delay] or
      `"min_delay"` (NEST's scheme: one exchange per shortest delay).

    **Returns:** a `ShardedNetwork`.
    """
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network`; got {type(network).__name__}.")
    _check_supported(network)
    sizes = network.population_sizes
    n_neurons = sum(sizes.values())
    n_devices = devices.devices.size if isinstance(devices, Mesh) else devices
    if isinstance(n_devices, int | np.integer) and n_devices > n_neurons:
        raise ValueError(
            f"`devices`: {n_devices} devices for {n_neurons} neurons; use at most {n_neurons} devices."
        )
    mesh, axis = _mesh(devices)
    n_devices = mesh.devices.size
    part, name = _partition(network, partition, n_devices, activity, seed, n_neurons)
    layout = device_layout(sizes, part, n_devices)
    every = _exchange_every(network, exchange_every)
    columns = {p.name: post_columns(p.connectivity, layout.slots[p.post]) for p in network.projections}
    boundary = _boundary(network, layout)
    per_device = [_components(network, layout, columns, boundary, d) for d in range(n_devices)]
    shared, varying, treedef = _split(per_device)
    placement = NamedSharding(mesh, PartitionSpec(axis))
    varying = tuple(jax.device_put(v, placement) for v in varying)
    return ShardedNetwork(network, mesh, axis, layout, name, every, boundary, shared, varying, treedef)


def _boundary(network: Network, layout: DeviceLayout) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per population with outgoing projections, the neurons each device must send: those
    with a postsynaptic target on another device (see `ShardedNetwork.boundary`)."""
    offsets = _offsets(network)
    sizes = network.population_sizes
    part = {name: layout.part[offsets[name] : offsets[name] + n] for name, n in sizes.items()}
    remote = {name: np.zeros(sizes[name], bool) for name in network.history_lengths()}
    for proj in network.projections:  # loop over projections (static structure)
        pre, post, valid = (np.asarray(x).reshape(-1) for x in stored_synapses(proj.connectivity))
        pre, post = pre[valid], post[valid]
        crossing = part[proj.pre][pre] != part[proj.post][post]
        remote[proj.pre][pre[crossing]] = True
    boundary = {}
    for name, sends in remote.items():
        slots = layout.slots[name]
        chosen = (slots >= 0) & sends[np.maximum(slots, 0)]
        width = max(int(chosen.sum(axis=1).max(initial=0)), 1)
        send = np.full((layout.n_devices, width), -1, np.int64)
        positions = np.full(sizes[name], -1, np.int64)
        for d in range(layout.n_devices):  # loop over devices (static structure)
            k = np.flatnonzero(chosen[d])
            send[d, : k.size] = k
            positions[slots[d, k]] = d * width + np.arange(k.size)
        boundary[name] = (send, positions)
    return boundary


def _offsets(network: Network) -> dict[str, int]:
    """Global index of each population's first neuron."""
    sizes = list(network.population_sizes.values())
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(int).tolist()
    return dict(zip(network.population_sizes, starts, strict=True))


# The projection fields `run_sharded`'s step implements; any other field set to something
# other than None/False (a feature added to `Projection` later) is refused, not ignored.
_HANDLED_PROJECTION_FIELDS = frozenset(
    (
        "pre",
        "post",
        "connectivity",
        "synapse",
        "output",
        "delay_steps",
        "synapse_delays",
        "max_delay_steps",
        "plastic",
        "name",
        "initial_state",
    )
)


def _check_supported(network: Network) -> None:
    """Refuse, naming it, any component the multi-device step does not implement."""
    if network.modulations:
        raise ValueError(
            f"multi-device runs do not support modulations ({type(network.modulations[0]).__name__}); "
            "run this network with `bs.run`."
        )
    for pop in network.populations:
        if pop.every != 1:
            raise ValueError(
                f"multi-device runs do not support slow clocks; population `{pop.name}` steps every "
                f"{pop.every} steps."
            )
        if not isinstance(pop.neuron, AbstractSpikingNeuron):
            raise TypeError(
                f"multi-device runs support spiking populations only; population `{pop.name}` "
                f"is a {type(pop.neuron).__name__} (data sources and value-emitting models are "
                "not exchanged yet)."
            )
    for proj in network.projections:
        for field in dataclasses.fields(proj):
            value = getattr(proj, field.name)
            if field.name not in _HANDLED_PROJECTION_FIELDS and value is not None and value is not False:
                raise ValueError(
                    f"multi-device runs do not support `{field.name}` (projection `{proj.name}` "
                    f"sets it to {type(value).__name__}); run this network with `bs.run`."
                )
        if proj.plastic:
            raise ValueError(
                f"multi-device runs do not support plastic projections; `{proj.name}` is plastic."
            )
        if proj.synapse_delays is not None:
            raise ValueError(
                f"multi-device runs support one delay per projection (`delay_steps`); projection "
                f"`{proj.name}` has per-synapse delays."
            )
    for inp in network.inputs:
        if not isinstance(inp, AbstractCurrentInput | AbstractEventInput):
            raise TypeError(
                f"multi-device runs do not support {type(inp).__name__} inputs (streamed data); "
                "use current or event inputs."
            )


def _mesh(devices) -> tuple[Mesh, str]:
    if isinstance(devices, Mesh):
        if len(devices.axis_names) != 1:
            raise ValueError(f"`devices` must be a 1-D mesh; got axes {devices.axis_names}.")
        return devices, devices.axis_names[0]
    if isinstance(devices, bool) or not isinstance(devices, int | np.integer):
        raise TypeError(f"`devices` must be a number of devices or a 1-D `Mesh`; got {devices!r}.")
    available = jax.devices()
    if not 1 <= devices <= len(available):
        raise ValueError(
            f"`devices` must be in [1, {len(available)}] (the devices JAX sees); got {devices}. On "
            "CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N before importing jax."
        )
    return Mesh(np.asarray(available[: int(devices)]), (AXIS,)), AXIS


def _partition(network, partition, n_devices, activity, seed, n_neurons):
    if isinstance(partition, str):
        if partition == "contiguous":
            return contiguous_part(network.population_sizes, n_devices), partition
        if partition == "metis":
            rates = activity_rates(network, activity)
            return metis_part(network, n_devices, rates, seed), partition
        raise ValueError(f"`partition` must be one of {PARTITIONS} or an array; got {partition!r}.")
    part = np.asarray(partition)
    if part.shape != (n_neurons,):
        raise ValueError(
            f"`partition` must have one device id per neuron, shape ({n_neurons},); got shape {part.shape}."
        )
    if not np.issubdtype(part.dtype, np.integer):
        raise TypeError(f"`partition` must hold integer device ids; got dtype {part.dtype}.")
    if part.size and (part.min() < 0 or part.max() >= n_devices):
        raise ValueError(
            f"`partition` must hold device ids in [0, {n_devices}); got {part.min()}..{part.max()}."
        )
    return part.astype(np.int64), "given"


def _exchange_every(network, exchange_every) -> int:
    delays = [p.delay_steps for p in network.projections]
    shortest = min(delays, default=1)
    if exchange_every == "min_delay":
        return shortest
    if isinstance(exchange_every, bool) or not isinstance(exchange_every, int | np.integer):
        raise TypeError(f"`exchange_every` must be an int or 'min_delay'; got {exchange_every!r}.")
    if not 1 <= exchange_every <= shortest:
        raise ValueError(
            f"`exchange_every` must be in [1, {shortest}] steps (the shortest delay: a spike must "
            f"arrive before it acts); got {exchange_every}."
        )
    return int(exchange_every)


def _components(network: Network, layout: DeviceLayout, columns: dict, boundary: dict, d: int) -> dict:
    """Device `d`'s share: models with per-neuron parameters at its slots, postsynaptic
    columns, and its slot tables (`take`: population index per slot, padding -> 0; `real`;
    `send`: the boundary slots it sends, padding -> 0; `send_real`)."""
    take = {name: np.maximum(s[d], 0).astype(np.int32) for name, s in layout.slots.items()}
    sizes = network.population_sizes
    neurons = {
        p.name: per_neuron(p.neuron, take[p.name], p.n, f"population `{p.name}`") for p in network.populations
    }
    projections = {}
    for proj in network.projections:
        where = f"projection `{proj.name}`"
        synapse = per_neuron(proj.synapse, take[proj.post], sizes[proj.post], where)
        output = per_neuron(proj.output, take[proj.post], sizes[proj.post], where)
        projections[proj.name] = (columns[proj.name][d], synapse, output)
    inputs = tuple(
        (
            per_neuron(inp.synapse, take[inp.target], sizes[inp.target], f"input to `{inp.target}`"),
            per_neuron(inp.output, take[inp.target], sizes[inp.target], f"input to `{inp.target}`"),
        )
        if isinstance(inp, AbstractEventInput)
        else None
        for inp in network.inputs
    )
    real = {name: s[d] >= 0 for name, s in layout.slots.items()}
    send = {name: np.maximum(table[d], 0).astype(np.int32) for name, (table, _) in boundary.items()}
    send_real = {name: table[d] >= 0 for name, (table, _) in boundary.items()}
    return {
        "neurons": neurons,
        "projections": projections,
        "inputs": inputs,
        "take": take,
        "real": real,
        "send": send,
        "send_real": send_real,
    }


def _split(per_device: list) -> tuple[tuple, tuple, Any]:
    """Shared leaves (the same object on every device), device-stacked leaves, structure."""
    flat = [jtu.tree_flatten(tree) for tree in per_device]
    treedef = flat[0][1]
    for _, other in flat[1:]:
        if other != treedef:
            raise AssertionError("per-device components must share one structure")
    shared, varying = [], []
    for i, first in enumerate(flat[0][0]):
        column = [leaves[i] for leaves, _ in flat]
        if all(x is first for x in column):
            shared.append(first)
        else:
            shared.append(_VARYING)
            varying.append(np.stack([np.asarray(x) for x in column]))
    return tuple(shared), tuple(varying), treedef
