"""`Mapping` and `map_network`: run a mapper end to end (partition, place, check)."""

import time
from dataclasses import dataclass, field

import numpy as np
from jaxtyping import Int

from .chips import Chip
from .constraints import (
    InfeasibleMappingError,
    Violation,
    check_constraints,
    check_neuron_fits,
    minimum_cores,
    neuron_core_pairs,
    partition_fits,
    search_core_count,
)
from .network_graph import NeuronGraph
from .partition import contiguous_slices, metis_graph, metis_partition, repair_neuron_counts, split_until_fits
from .place import anneal_placement, neighbour_first_placement, sequential_placement, traffic_matrix

MAPPERS = ("pacman", "pacman_sequential", "split_until_fits", "metis_anneal", "traffic")


@dataclass(frozen=True)
class Mapping:
    """Neurons on physical cores of a chip.

    **Fields:**
    - `chip`: the platform.
    - `core_of`: int array `(n_neurons,)`, physical core of each neuron in `[0, chip.n_cores)`.
    - `mapper`: name of the mapper that made it.
    - `seconds`: wall time the mapper took (reported only: no mapper reads the clock to
      decide anything, so `core_of` depends only on the graph, chip, mapper and arguments).
    - `violations`: broken limits (empty when feasible).
    - `notes`: diagnostics (stranded populations, core-count search, ...).
    """

    chip: Chip
    core_of: np.ndarray
    mapper: str
    seconds: float
    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def n_cores_used(self) -> int:
        return int(np.unique(self.core_of).size)

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def position(self) -> np.ndarray:
        """int array `(n_neurons, 2)`: router grid position of each neuron."""
        return self.chip.core_xy[self.core_of]

    def __repr__(self) -> str:
        status = "feasible" if self.feasible else f"{len(self.violations)} violations"
        return (
            f"Mapping({self.mapper!r} on {self.chip.name}: {self.core_of.size:,} neurons on "
            f"{self.n_cores_used} of {self.chip.n_cores} cores, {status}, {self.seconds:.2f} s)"
        )


def part_traffic(graph: NeuronGraph, part: Int[np.ndarray, " n"], n_parts: int) -> np.ndarray:
    """`W[c, c']`: rate of spikes from part c needing delivery to part c' (Hz)."""
    pre, dest, _ = neuron_core_pairs(graph.pre, part[graph.post], n_parts)
    return traffic_matrix(part[pre], dest, graph.rates[pre], n_parts)


def _compact(part):
    _, part = np.unique(part, return_inverse=True)
    return part.astype(np.int64)


def map_network(
    graph: NeuronGraph,
    chip: Chip,
    mapper: str = "traffic",
    *,
    seed: int = 0,
    n_cores: int | None = None,
    atoms_per_core: int | None = None,
    moves: int | None = None,
) -> Mapping:
    """Map a network onto a chip.

    **Arguments:**
    - `graph`: the network as a `NeuronGraph` (see `from_network`).
    - `chip`: the platform.
    - `mapper`: one of `MAPPERS`: `"pacman"` (B1: slices + neighbour-first placement),
      `"pacman_sequential"` (B1-seq: slices + x-major placement), `"split_until_fits"` (B2),
      `"metis_anneal"` (B3: METIS + repair + annealing), `"traffic"` (brainsim's
      traffic-aware mapper).
    - `seed`: integer seed for every random choice.
    - `n_cores`: use exactly this many logical cores (`None`: the fewest that meet every
      limit, found by search). Ignored by `split_until_fits`; B1 uses `atoms_per_core`.
    - `atoms_per_core`: B1 slice size (default: `ceil(n / n_cores)` when `n_cores` is given,
      else the largest size that fits).
    - `moves`: placement-annealing moves, >= 0, for `"metis_anneal"` (default
      `min(500,000, 100 k n)` for k logical on n chip cores) and the polish of `"traffic"` (default
      `traffic_mapper.default_moves(k)`); ignored by the other mappers. About 50,000 moves/s on
      one core for k = 36.

    The same arguments give the same mapping on any machine and under any load: every budget is
    a count of moves or rounds, never a wall time.

    **Returns:** a `Mapping` (check `.violations`).
    """
    if not isinstance(graph, NeuronGraph):
        raise TypeError(f"`graph` must be a NeuronGraph (use `from_network`); got {type(graph).__name__}.")
    if mapper not in MAPPERS:
        raise ValueError(f"`mapper` must be one of {MAPPERS}; got {mapper!r}.")
    if n_cores is not None and not 1 <= n_cores <= chip.n_cores:
        raise ValueError(f"`n_cores` must be in [1, {chip.n_cores}] for `{chip.name}`; got {n_cores!r}.")
    if moves is not None and moves < 0:
        raise ValueError(f"`moves` must be >= 0; got {moves!r}.")
    check_neuron_fits(graph, chip)
    lower = minimum_cores(graph, chip)
    if lower > chip.n_cores:
        raise InfeasibleMappingError(
            f"`{chip.name}` has {chip.n_cores} cores but the network needs at least {lower} "
            f"(neurons, axons or synapse memory); use a larger chip.",
            min_cores=lower,
        )
    t0 = time.perf_counter()
    notes: list[str] = []
    if mapper in ("pacman", "pacman_sequential"):
        if atoms_per_core is None:
            if n_cores is not None:
                atoms_per_core = -(-graph.n_neurons // n_cores)
            else:
                atoms_per_core = int(chip.neurons_per_core.value)
                while atoms_per_core > 1 and not partition_fits(
                    graph, contiguous_slices(graph, atoms_per_core), chip
                ):
                    atoms_per_core = int(atoms_per_core * 0.94)
                notes.append(f"atoms_per_core = {atoms_per_core} (largest slice size found to fit)")
        part = contiguous_slices(graph, atoms_per_core)
        part_pop = np.zeros(int(part.max()) + 1, np.int64)
        part_pop[part] = graph.population
        if mapper == "pacman":
            slots, extra = neighbour_first_placement(part_pop, chip)
            notes += extra
        else:
            slots = sequential_placement(part_pop.size, chip, "x-major")
    elif mapper == "split_until_fits":
        part = split_until_fits(graph, chip)
        slots = sequential_placement(int(part.max()) + 1, chip, "row-major")
    elif mapper == "metis_anneal":
        csr = metis_graph(graph)
        limit = int(chip.neurons_per_core.value)

        def partition(k):
            if k >= graph.n_neurons:
                return np.arange(graph.n_neurons)  # one neuron per core
            p = metis_partition(graph, k, seed=seed, _csr=csr)
            return repair_neuron_counts(graph, p, k, limit)

        if n_cores is None:
            part, tried = search_core_count(graph, chip, partition)
            notes.append(f"core counts tried: {tried}")
        else:
            part = _compact(partition(n_cores))
        k = int(part.max()) + 1
        w = part_traffic(graph, part, k)
        slots = anneal_placement(
            w,
            chip,
            seed=seed,
            moves=min(500_000, 100 * k * chip.n_cores) if moves is None else moves,
            initial=sequential_placement(k, chip, "row-major"),
        )
    else:
        from .traffic_mapper import traffic_aware_mapping

        core_of, extra = traffic_aware_mapping(graph, chip, seed=seed, n_cores=n_cores, moves=moves)
        notes += extra
        return _finish(graph, chip, core_of, mapper, t0, notes)
    return _finish(graph, chip, slots[part], mapper, t0, notes)


def _finish(graph, chip, core_of, mapper, t0, notes) -> Mapping:
    seconds = time.perf_counter() - t0
    violations = tuple(check_constraints(graph, core_of, chip))
    return Mapping(chip, np.asarray(core_of, np.int64), mapper, seconds, violations, tuple(notes))
