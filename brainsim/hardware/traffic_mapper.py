r"""brainsim's traffic-aware mapper: nested partition -> matching placement -> annealing ->
neuron-level refinement on the exact spike-hop objective.

1. **Partition.** METIS recursive bisection (multilevel coarsening + FM refinement inside
   METIS) of the activity-weighted synapse graph $w_{ij} = \mathrm{round}(\alpha(r_i[i\to j] +
   r_j[j \to i]))$ into $k$ parts. With `n_cores=None`, $k$ gallops up from the lower bound (x1.15)
   until every part meets every per-core limit (neurons, synapse memory, in- and out-axons),
   then bisects back to the fewest cores that fit (to within 2%).
2. **Placement.** The nested part ids are laid onto a compact block of cores by cutting the
   block the way METIS cut the graph (`place.hierarchical_placement`), then polished by
   low-temperature annealing of $\sum W_{cc'} d(c, c')$ (`place.anneal_placement`).
3. **Refinement.** Single-neuron moves to cores at most 3 hops away that lower the exact unicast
   spike-hops (`refine.refine_assignment`), keeping per-core balance (and feasibility).
"""

import math

import numpy as np

from .chips import Chip
from .constraints import neuron_core_pairs, search_core_count
from .network_graph import NeuronGraph
from .partition import metis_graph, metis_partition, repair_neuron_counts
from .place import anneal_placement, hierarchical_placement, traffic_matrix
from .refine import refine_assignment


def compact_block(chip: Chip, k: int) -> np.ndarray:
    """The `k` cores of a near-square block of routers at the grid origin (all cores if k = n)."""
    if k >= chip.n_cores:
        return np.arange(chip.n_cores)
    xy = chip.router_xy
    routers_needed = math.ceil(k / chip.cores_per_router)
    # grow a square (clipped to the grid) until it holds enough present routers
    side = max(1, math.isqrt(routers_needed))
    while True:
        inside = np.flatnonzero((xy[:, 0] < side) & (xy[:, 1] < side))
        if inside.size >= routers_needed or side > max(chip.width, chip.height):
            break
        side += 1
    inside = inside[np.lexsort((xy[inside, 0], xy[inside, 1]))]
    cores = (inside[:, None] * chip.cores_per_router + np.arange(chip.cores_per_router)).ravel()
    return cores[: max(k, 1)] if cores.size >= k else np.arange(chip.n_cores)[:k]


def default_moves(k: int) -> int:
    """Annealing moves for `k` logical cores: `min(600,000, 30 k^2)`.

    Set to match the wall time the old time-capped schedule spent on this project's benchmarks
    (`benchmarks/mapping.py`: ~0.8 s for k = 36, ~14 s for k = 144 at 40,000-50,000 moves/s)."""
    return min(600_000, 30 * k * k)


def traffic_aware_mapping(
    graph: NeuronGraph,
    chip: Chip,
    *,
    seed: int,
    n_cores: int | None = None,
    moves: int | None = None,
    max_rounds: int = 14,
    balance: float = 0.08,
) -> tuple[np.ndarray, list[str]]:
    """Map `graph` onto `chip` minimising spike traffic (see the module docstring).

    **Arguments:**
    - `graph`: the network.
    - `chip`: the platform.
    - `seed`: integer seed (METIS, annealing, tie-breaks).
    - `n_cores`: exactly this many cores, or `None` for the fewest that meet every limit.
    - `moves`: annealing moves for the placement polish, >= 0 (default `default_moves(k)`).
    - `balance`: refinement may fill a core up to `(1 + balance)` x the mean neuron count (never
      past the chip's limit). On W-M100k (144 cores, spatial ids, seed 0, converged) 0.03 gave
      11.04 M spike-hops/s, 0.06 10.87 M and 0.10 10.71 M: traffic traded for a little more
      neuron-update imbalance (latency is a max over cores).
    - `max_rounds`: refinement rounds, >= 0.

    The result depends only on the arguments (never on wall time or machine load).

    **Returns:** `(core_of, notes)`: int array `(n_neurons,)` of physical cores and diagnostics.
    """
    notes: list[str] = []
    csr = metis_graph(graph)
    limit = int(chip.neurons_per_core.value)

    def partition(k):
        if k >= graph.n_neurons:
            return np.arange(graph.n_neurons)  # one neuron per core
        p = metis_partition(graph, k, seed=seed, recursive=True, ufactor=10, _csr=csr)
        if np.bincount(p, minlength=k).max() > limit:
            p = repair_neuron_counts(graph, p, k, limit)
        return p

    if n_cores is None:
        part, tried = search_core_count(graph, chip, partition)
        k = int(part.max()) + 1
        notes.append(f"core counts tried: {tried}")
    else:
        k = n_cores
        part = partition(k)
    cores = compact_block(chip, k)
    slots = cores[hierarchical_placement(k, chip.core_xy[cores])]
    pre, dest, _ = neuron_core_pairs(graph.pre, part[graph.post], k)
    w = traffic_matrix(part[pre], dest, graph.rates[pre], k)
    slots = anneal_placement(
        w,
        chip,
        seed=seed,
        initial=slots,
        moves=default_moves(k) if moves is None else moves,
        allowed=cores,
        start_temperature=0.2,
    )
    core_of, extra = refine_assignment(
        graph,
        slots[part],
        chip,
        seed=seed,
        keep_feasible=n_cores is None,
        max_rounds=max_rounds,
        balance=balance,
        max_move_distance=3,
    )
    notes += extra
    return core_of, notes
