r"""Partitioners: neurons -> logical cores under every per-core limit.

- `contiguous_slices` (B1, sPyNNaker/PACMAN): contiguous id slices of at most `m` neurons
  per population, connectivity ignored.
- `split_until_fits` (B2, Lava / nengo-loihi): split each population into
  $\max(\lceil n/N\rceil, \lceil \text{in}/A_\text{in}\rceil, \lceil \text{out}/A_\text{out}\rceil,
  \lceil \text{bits}/B\rceil)$ contiguous chunks, then raise the split count until every chunk fits.
- `metis_partition` (B3, SNEAP-style): METIS k-way on the activity-weighted undirected graph
  $w_{ij} = \mathrm{round}(\alpha (r_i [i \to j] + r_j [j \to i])) \ge 1$.
"""

import math

import numpy as np
from jaxtyping import Int

from .chips import Chip
from .constraints import loihi_axon_bits, neuron_core_pairs, partition_violations
from .network_graph import NeuronGraph


def contiguous_slices(graph: NeuronGraph, atoms_per_core: int) -> Int[np.ndarray, " n"]:
    """B1 partition: population by population, slices `[k m, min((k+1) m, n))` of ids.

    **Arguments:**
    - `graph`: the network (neurons of a population must be contiguous in id order).
    - `atoms_per_core`: slice size `m`, >= 1.

    **Returns:** int array `(n_neurons,)` of logical core ids, numbered in creation order.
    """
    if atoms_per_core < 1:
        raise ValueError(f"`atoms_per_core` must be >= 1; got {atoms_per_core!r}.")
    pop = graph.population
    starts = np.flatnonzero(np.r_[True, pop[1:] != pop[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, pop.size]))
    local = np.arange(pop.size) - first
    slices_per_pop = -(-np.diff(np.r_[starts, pop.size]) // atoms_per_core)
    base = np.repeat(np.r_[0, np.cumsum(slices_per_pop)[:-1]], np.diff(np.r_[starts, pop.size]))
    return (base + local // atoms_per_core).astype(np.int64)


def _chunks(sizes: np.ndarray, n_split: np.ndarray) -> np.ndarray:
    """Logical core of each neuron when population k (contiguous) is cut into n_split[k] chunks."""
    out, base = [], 0
    for n, k in zip(sizes.tolist(), n_split.tolist(), strict=True):  # loop over populations
        m = -(-n // k)
        out.append(base + np.arange(n) // m)
        base += -(-n // m)
    return np.concatenate(out).astype(np.int64)


def _population_fits(graph, chip, members, in_pre, in_post, k) -> bool:
    """Do the `k` chunks of one population meet the per-core input-side limits?"""
    n = members.size
    m = -(-n // k)
    local_core = np.full(graph.n_neurons, -1, np.int64)
    local_core[members] = np.arange(n) // m
    pre, cores, syn = neuron_core_pairs(in_pre, local_core[in_post], k)
    if chip.synapse_bits_per_core is not None and chip.synapse_format == "loihi":
        bits = np.bincount(cores, weights=loihi_axon_bits(syn, chip.weight_bits), minlength=k)
        if bits.max() > chip.synapse_bits_per_core.value:
            return False
    if not chip.intra_core_axons_count:
        own = local_core[pre] == cores
        pre, cores, syn = pre[~own], cores[~own], syn[~own]
    if (
        chip.in_axons_per_core is not None
        and np.bincount(cores, minlength=k).max() > chip.in_axons_per_core.value
    ):
        return False
    return m <= chip.neurons_per_core.value


def split_until_fits(graph: NeuronGraph, chip: Chip, max_rounds: int = 64) -> Int[np.ndarray, " n"]:
    """B2 partition: split every population into equal contiguous chunks until all fit.

    The initial split count is nengo-loihi's whole-block estimate; it is then raised by one
    (found by bisection, the fit being monotone in practice) until each chunk meets the
    neuron, in-axon and memory limits, then again for populations whose chunks break the
    out-axon limit once every population is split.

    **Returns:** int array `(n_neurons,)` of logical core ids.
    """
    pop = graph.population
    n_pop = int(pop.max()) + 1
    sizes = np.bincount(pop, minlength=n_pop)
    order = np.argsort(graph.post, kind="stable")
    post_sorted = graph.post[order]
    pop_of_post = pop[post_sorted]
    bounds = np.searchsorted(pop_of_post, np.arange(n_pop + 1))
    n_split = np.ones(n_pop, np.int64)
    pairs_pre, pairs_post_pop, _ = neuron_core_pairs(graph.pre, pop[graph.post], n_pop)
    for p in range(n_pop):  # loop over populations (static structure)
        sel = order[bounds[p] : bounds[p + 1]]
        in_pre, in_post = graph.pre[sel], graph.post[sel]
        members = np.flatnonzero(pop == p)
        block_in = np.unique(in_pre).size
        block_out = int(np.sum(pairs_post_pop[np.isin(pairs_pre, members)] >= 0))
        est = [math.ceil(sizes[p] / chip.neurons_per_core.value)]
        if chip.in_axons_per_core is not None:
            est.append(math.ceil(block_in / chip.in_axons_per_core.value))
        if chip.out_axons_per_core is not None:
            est.append(math.ceil(block_out / chip.out_axons_per_core.value))
        lo = max(1, *est)
        if not _population_fits(graph, chip, members, in_pre, in_post, lo):
            hi = lo + 1
            while hi < sizes[p] and not _population_fits(graph, chip, members, in_pre, in_post, hi):
                lo, hi = hi, min(2 * hi, int(sizes[p]))
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _population_fits(graph, chip, members, in_pre, in_post, mid):
                    hi = mid
                else:
                    lo = mid
            lo = hi
        n_split[p] = lo
    for _ in range(max_rounds):
        part = _chunks(sizes, n_split)
        n_parts = int(part.max()) + 1
        bad = violating_parts(graph, part, chip)
        if not bad.any():
            return part
        pop_of_part = np.zeros(n_parts, np.int64)
        pop_of_part[part] = pop
        n_split[np.unique(pop_of_part[bad])] += 1
    raise RuntimeError("`split_until_fits` did not converge; raise `max_rounds`.")


def metis_graph(graph: NeuronGraph, alpha: float | None = None):
    r"""Symmetric CSR `(xadj, adjncy, eweights)` of the activity-weighted graph.

    $w_{ij} = \max(1, \mathrm{round}(\alpha(r_i[i\to j] + r_j[j\to i])))$.

    `alpha` defaults to `10 / mean(rate)` so that a typical synapse weighs about 10."""
    n = graph.n_neurons
    r = graph.rates
    if alpha is None:
        alpha = 10.0 / max(float(r.mean()), 1e-12)
    a, b = graph.pre, graph.post
    keep = a != b
    a, b, w = a[keep], b[keep], r[a[keep]]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key, inv = np.unique(lo * n + hi, return_inverse=True)
    wsum = np.bincount(inv, weights=w)
    u, v = key // n, key % n
    ew = np.maximum(1, np.rint(alpha * wsum)).astype(np.int64)
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    wt = np.concatenate([ew, ew])
    order = np.lexsort((dst, src))
    src, dst, wt = src[order], dst[order], wt[order]
    xadj = np.r_[0, np.cumsum(np.bincount(src, minlength=n))].astype(np.int64)
    return xadj, dst.astype(np.int64), wt


def metis_partition(
    graph: NeuronGraph,
    n_parts: int,
    *,
    seed: int,
    alpha: float | None = None,
    ufactor: int = 30,
    tpwgts=None,
    recursive: bool = False,
    _csr=None,
) -> Int[np.ndarray, " n"]:
    """B3 partition: METIS k-way on the activity-weighted synapse graph (`pymetis.part_graph`).

    **Arguments:**
    - `graph`: the network.
    - `n_parts`: number of parts, >= 1.
    - `seed`: METIS seed.
    - `alpha`: weight scale (see `metis_graph`).
    - `ufactor`: allowed imbalance in 1/1000 (METIS option).
    - `recursive`: recursive bisection instead of k-way; part ids then nest (ids
      `[0, k//2)` and `[k//2, k)` are the two halves of the first cut, and so on).

    **Returns:** int array `(n_neurons,)` of part ids in `[0, n_parts)`.
    """
    if n_parts < 1:
        raise ValueError(f"`n_parts` must be >= 1; got {n_parts!r}.")
    if n_parts == 1:
        return np.zeros(graph.n_neurons, np.int64)
    import pymetis  # here, not at module level: `import brainsim` should not load METIS

    xadj, adjncy, ew = metis_graph(graph, alpha) if _csr is None else _csr
    opts = pymetis.Options(seed=int(seed), ufactor=int(ufactor))
    _, member = pymetis.part_graph(
        n_parts,
        pymetis.CSRAdjacency(xadj, adjncy),
        eweights=ew,
        options=opts,
        tpwgts=tpwgts,
        recursive=recursive,
    )
    return np.asarray(member).astype(np.int64)  # pymetis returns `longlong`


def repair_neuron_counts(
    graph: NeuronGraph, part: Int[np.ndarray, " n"], n_parts: int, limit: int
) -> np.ndarray:
    """Move neurons out of parts holding more than `limit` into the connected part with room.

    Each overfull part gives away its neurons with the fewest synapses inside it, each to
    the part it has most synapses with among those with spare room (our specification of
    B3's repair). Vectorised over neurons; loops over overfull parts only."""
    part = np.asarray(part, np.int64).copy()
    if n_parts * limit < graph.n_neurons:
        raise ValueError(f"{n_parts} parts x {limit} neurons cannot hold {graph.n_neurons} neurons.")
    for _ in range(16):
        count = np.bincount(part, minlength=n_parts)
        over = np.flatnonzero(count > limit)
        if over.size == 0:
            return part
        for p in over.tolist():
            members = np.flatnonzero(part == p)
            sel = np.isin(graph.post, members) | np.isin(graph.pre, members)
            a, b = graph.pre[sel], graph.post[sel]
            inside = part[a] == part[b]
            own = np.bincount(np.r_[a[inside], b[inside]], minlength=graph.n_neurons)[members]
            excess = int(count[p] - limit)
            movers = members[np.argsort(own, kind="stable")[:excess]]
            room = limit - np.bincount(part, minlength=n_parts)
            for v in movers.tolist():  # at most `excess` moves per overfull part
                nb = np.r_[part[graph.post[graph.pre == v]], part[graph.pre[graph.post == v]]]
                cand = np.bincount(nb, minlength=n_parts).astype(float)
                cand[room <= 0] = -1
                cand[p] = -1
                tgt = int(np.argmax(cand)) if cand.max() >= 0 else int(np.argmax(room))
                part[v] = tgt
                room[tgt] -= 1
    return part


def violating_parts(graph: NeuronGraph, part: Int[np.ndarray, " n"], chip: Chip) -> np.ndarray:
    """Bool array `(n_parts,)`: parts breaking a per-core limit if each were one core."""
    n_parts = int(part.max()) + 1
    bad = np.zeros(n_parts, bool)
    for v in partition_violations(graph, part, chip):
        if v.where.startswith("core "):
            bad[int(v.where.split()[1])] = True
    return bad
