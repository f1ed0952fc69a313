r"""brainsim's traffic-aware mapper: nested partition -> matching placement -> annealing ->
neuron-level refinement on the exact spike-hop objective.

1. **Partition.** METIS recursive bisection (multilevel coarsening + FM refinement inside
   METIS) of the activity-weighted synapse graph $w_{ij} = \mathrm{round}(\alpha(r_i[i\to j] +
   r_j[j \to i]))$ into $k$ parts. With `n_cores=None`, $k$ grows from the lower bound until
   every part meets every per-core limit (neurons, synapse memory, in- and out-axons).
2. **Placement.** The nested part ids are laid onto a compact block of cores by cutting the
   block the way METIS cut the graph (`place.hierarchical_placement`), then polished by
   low-temperature annealing of $\sum W_{cc'} d(c, c')$ (`place.anneal_placement`).
3. **Refinement.** Single-neuron moves to neighbouring cores that lower the exact unicast
   spike-hops (`refine.refine_assignment`), keeping per-core balance (and feasibility).
"""

import math
import time

import numpy as np

from .chips import Chip
from .constraints import InfeasibleMappingError, minimum_cores, neuron_core_pairs, partition_fits
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


def traffic_aware_mapping(
    graph: NeuronGraph,
    chip: Chip,
    *,
    seed: int,
    n_cores: int | None = None,
    seconds: float = 30.0,
    max_rounds: int = 14,
) -> tuple[np.ndarray, list[str]]:
    """Map `graph` onto `chip` minimising spike traffic (see the module docstring).

    **Arguments:**
    - `graph`: the network.
    - `chip`: the platform.
    - `seed`: integer seed (METIS, annealing, tie-breaks).
    - `n_cores`: exactly this many cores, or `None` for the fewest that meet every limit.
    - `seconds`: wall-time cap for annealing (30%) and refinement (the rest).
    - `max_rounds`: refinement rounds. Annealing runs `min(1,500,000, 75 k^2)` moves. Within
      the time cap the result depends only on `seed`.

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
        k = minimum_cores(graph, chip)
        tried = []
        while True:
            if k > min(chip.n_cores, graph.n_neurons):
                raise InfeasibleMappingError(
                    f"no partition with <= {chip.n_cores} cores met every limit on `{chip.name}` "
                    f"(tried {tried}); lower bound {minimum_cores(graph, chip)} cores. Use a larger chip.",
                    min_cores=minimum_cores(graph, chip),
                )
            part = partition(k)
            tried.append(k)
            if np.bincount(part, minlength=k).min() > 0 and partition_fits(graph, part, chip):
                break
            k = min(max(k + 1, int(math.ceil(k * 1.04))), max(graph.n_neurons, k + 1))
        notes.append(f"core counts tried: {tried}")
    else:
        k = n_cores
        part = partition(k)
    cores = compact_block(chip, k)
    slots = cores[hierarchical_placement(k, chip.core_xy[cores])]
    pre, dest, _ = neuron_core_pairs(graph.pre, part[graph.post], k)
    w = traffic_matrix(part[pre], dest, graph.rates[pre], k)
    t0 = time.perf_counter()
    # move and round budgets make the result reproducible; `seconds` only caps them
    slots = anneal_placement(
        w,
        chip,
        seed=seed,
        initial=slots,
        seconds=0.3 * seconds,
        allowed=cores,
        start_temperature=0.2,
        max_moves=min(1_500_000, 75 * k * k),
    )
    spent = time.perf_counter() - t0
    core_of, extra = refine_assignment(
        graph,
        slots[part],
        chip,
        seed=seed,
        seconds=max(seconds - spent, 1.0),
        keep_feasible=n_cores is None,
        max_rounds=max_rounds,
    )
    notes += extra
    return core_of, notes
