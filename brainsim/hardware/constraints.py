r"""Per-core resource use and constraint checks (reference section 2.5).

For a neuron-to-core assignment `core(i)`:
- neurons $n_c = |\{i : core(i) = c\}|$;
- in-axons $|\{i : \exists j,\ i \to j,\ core(j) = c\}|$ (minus $i$ on $c$ unless the preset
  counts intra-core sources);
- out-axons $\sum_{i \in c} |D_i|$ with $D_i = \{core(j) : i \to j\}$ (likewise);
- synapse bits: Loihi (nengo-loihi) groups of at most 64 synapses per (axon, core), each
  $\lceil n_g (w + d) + 10 \rceil_{64}$; SpiNNaker $4 (3 + n)$ bytes per (pre, core) row,
  summed per chip against SDRAM; TrueNorth: structural (256 axons x 256 neurons).
"""

import math
from dataclasses import dataclass

import numpy as np
from jaxtyping import Int

from .chips import Chip
from .network_graph import NeuronGraph


@dataclass(frozen=True)
class Violation:
    """One broken limit: `constraint` on `where` (`"core 12"`, `"router 3"`, `"neuron 7"`)."""

    constraint: str
    where: str
    used: int | float
    limit: int | float

    def __str__(self) -> str:
        return f"{self.constraint} on {self.where}: {self.used:g} > {self.limit:g}"

    def to_dict(self) -> dict:
        return {"constraint": self.constraint, "where": self.where, "used": self.used, "limit": self.limit}


class InfeasibleMappingError(ValueError):
    """The network cannot be mapped: names the constraint, where, and the smallest core count."""

    def __init__(self, message: str, violations: tuple[Violation, ...] = (), min_cores: int | None = None):
        super().__init__(message)
        self.violations = violations
        self.min_cores = min_cores


def _ceil64(bits):
    return -(-bits // 64) * 64


def loihi_axon_bits(n_synapses: Int[np.ndarray, " a"], bits_per_synapse: int) -> Int[np.ndarray, " a"]:
    r"""Loihi synapse memory of (axon, core) groups with `n_synapses` synapses each, bits.

    Groups of at most 64 synapses cost $\lceil 64(n_g b + 10)\rceil_{64}$ each (nengo-loihi's
    default format, `assumed`)."""
    n = np.asarray(n_synapses, np.int64)
    full, rem = np.divmod(n, 64)
    return full * _ceil64(64 * bits_per_synapse + 10) + (rem > 0) * _ceil64(rem * bits_per_synapse + 10)


@dataclass(frozen=True)
class CoreUsage:
    """Resource use per core (arrays `(n_cores,)`) and per neuron.

    **Fields:** `neurons`, `in_axons`, `out_axons`, `synapse_bits` per core; `sdram_bytes` per
    router (SpiNNaker), `targets` per neuron (destination cores, own core included);
    `pair_pre`, `pair_core`, `pair_synapses`: the unique (neuron, destination core) pairs with
    their synapse counts.
    """

    neurons: np.ndarray
    in_axons: np.ndarray
    out_axons: np.ndarray
    synapse_bits: np.ndarray
    sdram_bytes: np.ndarray
    targets: np.ndarray
    pair_pre: np.ndarray
    pair_core: np.ndarray
    pair_synapses: np.ndarray


def neuron_core_pairs(pre, post_core, n_cores: int):
    """Unique (pre neuron, destination core) pairs and their synapse counts."""
    key, count = np.unique(pre * n_cores + post_core, return_counts=True)
    return key // n_cores, key % n_cores, count


def core_usage(
    graph: NeuronGraph, core_of: Int[np.ndarray, " n"], chip: Chip, n_cores: int | None = None
) -> CoreUsage:
    """Resource use of every core under the assignment `core_of` (neuron -> core index)."""
    n_cores = chip.n_cores if n_cores is None else n_cores
    core_of = np.asarray(core_of, np.int64)
    pair_pre, pair_core, pair_syn = neuron_core_pairs(graph.pre, core_of[graph.post], n_cores)
    remote = core_of[pair_pre] != pair_core
    counted = np.ones_like(remote) if chip.intra_core_axons_count else remote
    neurons = np.bincount(core_of, minlength=n_cores)
    in_axons = np.bincount(pair_core[counted], minlength=n_cores)
    out_axons = np.bincount(core_of[pair_pre[counted]], minlength=n_cores)
    targets = np.bincount(pair_pre, minlength=graph.n_neurons)
    if chip.synapse_format == "loihi":
        bits = np.bincount(pair_core, weights=loihi_axon_bits(pair_syn, chip.weight_bits), minlength=n_cores)
    elif chip.synapse_format == "truenorth":
        bits = np.bincount(pair_core, minlength=n_cores) * 256.0  # one crossbar row per axon
    else:
        bits = np.bincount(pair_core, weights=32.0 * (3 + pair_syn), minlength=n_cores)
    router = np.arange(n_cores) // chip.cores_per_router
    sdram = np.bincount(router, weights=bits / 8.0, minlength=max(int(router.max()) + 1, 1))
    return CoreUsage(
        neurons, in_axons, out_axons, bits.astype(float), sdram, targets, pair_pre, pair_core, pair_syn
    )


def check_constraints(
    graph: NeuronGraph,
    core_of: Int[np.ndarray, " n"],
    chip: Chip,
    usage: CoreUsage | None = None,
    router_entries: np.ndarray | None = None,
) -> list[Violation]:
    """Every broken per-core, per-chip and per-neuron limit (empty list when the mapping fits).

    **Arguments:**
    - `graph`: the network.
    - `core_of`: int array `(n_neurons,)`, core index of each neuron in `[0, chip.n_cores)`.
    - `chip`: the platform.
    - `usage`: precomputed `core_usage` (optional).
    - `router_entries`: entries per router (optional; checked against `chip.router_entries`).

    **Returns:** a list of `Violation`.
    """
    core_of = np.asarray(core_of)
    if core_of.shape != (graph.n_neurons,):
        raise ValueError(f"`core_of` must have shape ({graph.n_neurons},); got {core_of.shape}.")
    if core_of.size and (core_of.min() < 0 or core_of.max() >= chip.n_cores):
        raise ValueError(
            f"`core_of` must hold core indices in [0, {chip.n_cores}); "
            f"got [{core_of.min()}, {core_of.max()}]."
        )
    u = core_usage(graph, core_of, chip) if usage is None else usage
    out: list[Violation] = []

    def per_core(name, used, limit):
        if limit is None:
            return
        bad = np.flatnonzero(used > limit.value)
        out.extend(Violation(name, f"core {c}", float(used[c]), float(limit.value)) for c in bad)

    per_core("neurons", u.neurons, chip.neurons_per_core)
    per_core("synapse_bits", u.synapse_bits, chip.synapse_bits_per_core)
    per_core("in_axons", u.in_axons, chip.in_axons_per_core)
    per_core("out_axons", u.out_axons, chip.out_axons_per_core)
    if chip.targets_per_neuron is not None:
        bad = np.flatnonzero(u.targets > chip.targets_per_neuron.value)
        out.extend(
            Violation("targets_per_neuron", f"neuron {i}", float(u.targets[i]), chip.targets_per_neuron.value)
            for i in bad[:100]
        )
    if chip.sdram_bytes_per_chip is not None:
        bad = np.flatnonzero(u.sdram_bytes > chip.sdram_bytes_per_chip.value)
        out.extend(
            Violation("sdram_bytes", f"router {r}", float(u.sdram_bytes[r]), chip.sdram_bytes_per_chip.value)
            for r in bad
        )
    if chip.router_entries is not None and router_entries is not None:
        bad = np.flatnonzero(router_entries > chip.router_entries.value)
        out.extend(
            Violation("router_entries", f"router {r}", float(router_entries[r]), chip.router_entries.value)
            for r in bad
        )
    return out


def check_neuron_fits(graph: NeuronGraph, chip: Chip) -> None:
    """Raise `InfeasibleMappingError` for a neuron that no core could ever hold.

    A neuron's distinct presynaptic sources all become in-axons of its core, and its fan-in
    synapses all sit in its core's memory, so fan-in beyond either limit fits nowhere."""
    key = np.unique(graph.post * graph.n_neurons + graph.pre)
    fan_in = np.bincount(key // graph.n_neurons, minlength=graph.n_neurons)
    limits = []
    if chip.in_axons_per_core is not None:
        limits.append(("in_axons", fan_in, chip.in_axons_per_core.value))
    if chip.synapse_bits_per_core is not None and chip.synapse_format == "loihi":
        bits = fan_in * _ceil64(chip.weight_bits + 10)
        limits.append(("synapse_bits", bits, chip.synapse_bits_per_core.value))
    for name, used, limit in limits:
        bad = np.flatnonzero(used > limit)
        if bad.size:
            i = int(bad[0])
            raise InfeasibleMappingError(
                f"neuron {i} has fan-in {int(fan_in[i])} from distinct sources, so its core needs "
                f"{name} = {int(used[i])} > limit {int(limit)} on `{chip.name}`: no core count fits. "
                f"Split the neuron's inputs across relay neurons or choose a preset with a larger limit.",
                (Violation(name, f"neuron {i}", float(used[i]), float(limit)),),
                None,
            )


def minimum_cores(graph: NeuronGraph, chip: Chip) -> int:
    r"""A lower bound on the core count: $\max_k \lceil \text{total}_k / \text{limit}_k \rceil$.

    Totals that hold for any assignment: neurons, and (when intra-core sources count) one
    in-axon per neuron with fan-out and one synapse group per synapse-carrying source."""
    bounds = [math.ceil(graph.n_neurons / chip.neurons_per_core.value)]
    has_out = np.unique(graph.pre).size
    if chip.in_axons_per_core is not None and chip.intra_core_axons_count:
        bounds.append(math.ceil(has_out / chip.in_axons_per_core.value))
    if chip.synapse_bits_per_core is not None and chip.synapse_format == "loihi":
        total = graph.n_synapses * chip.weight_bits + has_out * 10
        bounds.append(math.ceil(total / chip.synapse_bits_per_core.value))
    return max(1, *bounds)


def partition_fits(graph: NeuronGraph, part: Int[np.ndarray, " n"], chip: Chip) -> bool:
    """Would every part of `part` (ids `0..k-1`, one part per core) meet the per-core limits?

    Placement-dependent limits (router tables, per-chip SDRAM) and TrueNorth's one-target
    rule (which needs splitter neurons, not a better partition) are not checked here."""
    return not partition_violations(graph, part, chip)


def partition_violations(graph: NeuronGraph, part: Int[np.ndarray, " n"], chip: Chip) -> list[Violation]:
    """The per-core violations of `part` (ids `0..k-1`) if each part were one core of `chip`
    (placement-dependent limits left out, as in `partition_fits`)."""
    n_parts = int(part.max()) + 1
    flat = chip.replace(
        width=n_parts,
        height=1,
        cores_per_router=1,
        missing_routers=(),
        router_entries=None,
        sdram_bytes_per_chip=None,
        targets_per_neuron=None,
    )
    return check_constraints(graph, part, flat)


def search_core_count(
    graph: NeuronGraph, chip: Chip, partition_fn, *, grow: float = 1.15, resolution: float = 0.02
) -> tuple[Int[np.ndarray, " n"], list[int]]:
    """The fewest cores `k` (to within `resolution`, relative) for which `partition_fn(k)` meets
    every per-core limit: gallop up from `minimum_cores` by `grow` until a partition fits, then
    bisect between the last failure and the first fit (about 6-9 partitions on W-M100k, instead
    of one per few percent). Feasibility is not strictly monotone in `k`, so the result is the
    smallest fitting count the search saw, not a proof that fewer cannot fit.

    **Arguments:**
    - `partition_fn`: `k -> part`, an int array `(n_neurons,)` of part ids in `[0, k)`.

    **Returns:** `(part, tried)`: the partition (part ids compacted to `0..k'-1`) and the core
    counts tried, in order. Raises `InfeasibleMappingError` when no count up to the chip's cores
    fits, naming the constraint the last attempt broke.
    """
    bound = minimum_cores(graph, chip)
    ceiling = min(chip.n_cores, graph.n_neurons)
    tried: list[int] = []
    last: list = []

    def attempt(k):
        _, part = np.unique(partition_fn(k), return_inverse=True)
        tried.append(k)
        return part.astype(np.int64), partition_violations(graph, part, chip)

    low, k = bound - 1, bound  # `low`: the largest count known (or assumed) not to fit
    while True:
        if k > ceiling:
            raise InfeasibleMappingError(
                f"no partition with <= {chip.n_cores} cores met every limit on `{chip.name}` "
                f"(tried {tried}); the last one broke {last[0] if last else 'nothing'} "
                f"({len(last)} violations). The lower bound is {bound} cores; use a larger chip "
                "(for example `generic_mesh`).",
                tuple(last),
                min_cores=bound,
            )
        best, last = attempt(k)
        if not last:
            break
        low, k = k, (min(max(k + 1, math.ceil(k * grow)), ceiling) if k < ceiling else k + 1)
    high = k
    while high - low > max(1, int(resolution * high)):
        mid = (low + high) // 2
        part, violations = attempt(mid)
        if violations:
            low = mid
        else:
            high, best = mid, part
    return best, tried
