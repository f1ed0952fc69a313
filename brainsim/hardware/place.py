r"""Placement: logical cores -> physical cores (router positions) on the chip.

- `sequential_placement`: logical core k on the k-th physical core in x-major (B1-seq) or
  row-major (Lava, B2) order.
- `neighbour_first_placement`: PACMAN's application placer (B1).
- `anneal_placement`: simulated annealing of the permutation minimising
  $\sum_{c \ne c'} W(c, c')\,\mathrm{hops}(c, c')$ with $W(c,c') = \sum_{i \in c} r_i [c' \in D_i]$
  (the unicast spike-hops; B3, also used to polish brainsim's placement).
"""

import numpy as np
from jaxtyping import Float, Int

from .chips import DIRECTIONS, Chip
from .route import core_router


def router_distance(chip: Chip) -> Int[np.ndarray, "r r"]:
    r"""Hop count between every pair of routers (XY / LDF route length), int32 `(r, r)`.

    Closed forms, equal to `hop_counts` route by route: $|dx| + |dy|$ on a mesh (shorter way
    round on a torus); on the SpiNNaker lattice $\max(|dx|, |dy|)$ when $dx$ and $dy$ share a
    sign, else $|dx| + |dy|$."""
    xy = chip.router_xy.astype(np.int32)
    dx = xy[None, :, 0] - xy[:, None, 0]
    dy = xy[None, :, 1] - xy[:, None, 1]
    if chip.torus:
        dx = (dx + chip.width // 2) % chip.width - chip.width // 2
        dy = (dy + chip.height // 2) % chip.height - chip.height // 2
    ax, ay = np.abs(dx), np.abs(dy)
    if chip.topology == "hexagonal":
        return np.where(dx * dy > 0, np.maximum(ax, ay), ax + ay).astype(np.int32)
    return (ax + ay).astype(np.int32)


def traffic_matrix(pre_part, dest_part, weight, n_parts: int) -> Float[np.ndarray, "p p"]:
    """Dense `W[c, c']` = summed `weight` of (source part c, destination part c') pairs, c != c'."""
    w = np.bincount(pre_part * n_parts + dest_part, weights=weight, minlength=n_parts * n_parts)
    w = w.astype(np.float64).reshape(n_parts, n_parts)
    np.fill_diagonal(w, 0.0)
    return w


def sequential_placement(n_parts: int, chip: Chip, order: str = "x-major") -> Int[np.ndarray, " p"]:
    """Logical core k -> k-th core in `order` (`"x-major"`: for x, for y; or `"row-major"`)."""
    if n_parts > chip.n_cores:
        raise ValueError(f"{n_parts} logical cores do not fit the {chip.n_cores} cores of `{chip.name}`.")
    if order not in ("x-major", "row-major"):
        raise ValueError(f"`order` must be 'x-major' or 'row-major'; got {order!r}.")
    xy = chip.router_xy
    routers = np.lexsort((xy[:, 1], xy[:, 0])) if order == "x-major" else np.arange(xy.shape[0])
    k = chip.cores_per_router
    cores = (routers[:, None] * k + np.arange(k)[None, :]).ravel()
    return cores[:n_parts].astype(np.int64)


def neighbour_first_placement(
    part_population: Int[np.ndarray, " p"], chip: Chip
) -> tuple[np.ndarray, list[str]]:
    """B1 placement (PACMAN `application_placer`): fill a start chip, then its neighbours.

    Chips are scanned x-major. Each population starts on the first chip with a free core and
    then keeps an insertion-ordered FIFO of the neighbours (link order E, N, W, S on a mesh;
    E, NE, N, W, SW, S on the lattice) of every chip it used; when the current chip is full
    it pops the next neighbour with room. If the FIFO empties, the population restarts from
    the next start chip; if no chip has room, the rest goes in scan order and is reported.

    **Arguments:**
    - `part_population`: int array `(p,)`, population of each logical core, in creation order.
    - `chip`: the platform.

    **Returns:** `(core_of_part, notes)`.
    """
    p = part_population.shape[0]
    if p > chip.n_cores:
        raise ValueError(f"{p} logical cores do not fit the {chip.n_cores} cores of `{chip.name}`.")
    xy = chip.router_xy
    grid = {(int(x), int(y)): r for r, (x, y) in enumerate(xy)}
    links = [0, 2, 3, 5] if chip.topology == "mesh" else [0, 1, 2, 3, 4, 5]
    neighbours = []
    for x, y in xy.tolist():  # loop over routers (placement structure)
        nbs = []
        for d in links:
            nx, ny = x + DIRECTIONS[d][0], y + DIRECTIONS[d][1]
            if chip.torus:
                nx, ny = nx % chip.width, ny % chip.height
            if (nx, ny) in grid:
                nbs.append(grid[(nx, ny)])
        neighbours.append(nbs)
    scan = np.lexsort((xy[:, 1], xy[:, 0])).tolist()
    free = np.full(xy.shape[0], chip.cores_per_router)
    out = np.full(p, -1, np.int64)
    notes: list[str] = []
    k = chip.cores_per_router
    idx = 0
    while idx < p:  # loop over logical cores
        pop = part_population[idx]
        start = next((r for r in scan if free[r] > 0), None)
        if start is None:
            break
        fifo, seen, current = [], {start}, start
        while idx < p and part_population[idx] == pop:
            if free[current] == 0:
                current = None
                while fifo:
                    cand = fifo.pop(0)
                    if free[cand] > 0:
                        current = cand
                        break
                if current is None:
                    notes.append(
                        f"population {int(pop)}: neighbour FIFO emptied; restarted from the next start chip"
                    )
                    break
            out[idx] = current * k + (k - free[current])
            free[current] -= 1
            idx += 1
            for nb in neighbours[current]:
                if nb not in seen:
                    seen.add(nb)
                    fifo.append(nb)
    rest = np.flatnonzero(out < 0)
    if rest.size:
        spare = [r * k + (k - f) + j for r in scan for f in [int(free[r])] for j in range(f)]
        out[rest] = spare[: rest.size]
        notes.append(f"{rest.size} logical cores could not be placed neighbour-first; placed in scan order")
    return out, notes


def anneal_placement(
    weights: Float[np.ndarray, "p p"],
    chip: Chip,
    *,
    seed: int,
    initial: Int[np.ndarray, " p"] | None = None,
    moves: int = 200_000,
    allowed: Int[np.ndarray, " k"] | None = None,
    start_temperature: float = 1.0,
) -> Int[np.ndarray, " p"]:
    r"""Simulated annealing of logical cores over physical cores.

    Minimises $\sum_{a \ne b} W_{ab}\,d(\pi_a, \pi_b)$ with router hop distance $d$. A move
    swaps the contents of two physical cores (either may be empty) and is accepted with
    probability $\min(1, e^{-\Delta/T})$; $T$ cools geometrically from the median $|\Delta|$
    of random moves to 1e-4 of it over `moves` proposals. The result depends only on the
    arguments (never on wall time or machine load).

    **Arguments:**
    - `weights`: `(p, p)` traffic between logical cores (spikes/s).
    - `chip`: the platform (p <= `chip.n_cores`).
    - `seed`: random seed.
    - `initial`: starting physical core of each logical core (default: row-major order).
    - `moves`: number of proposed moves, >= 0 (about 50,000 per second on one core for
      p = 36, 30,000-45,000 for p = 144).
    - `allowed`: the physical cores that may be used (default: all).
    - `start_temperature`: initial temperature as a fraction of the median random |Delta|
      (below 1 to polish a good `initial`).

    **Returns:** int array `(p,)`, physical core of each logical core.
    """
    if moves < 0:
        raise ValueError(f"`moves` must be >= 0; got {moves!r}.")
    p = weights.shape[0]
    n = chip.n_cores
    allowed = np.arange(n) if allowed is None else np.asarray(allowed, np.int64)
    if p > allowed.size:
        raise ValueError(f"{p} logical cores do not fit the {n} cores of `{chip.name}`.")
    if p <= 1 or not np.any(weights):
        return allowed[:p].copy() if initial is None else np.asarray(initial, np.int64).copy()
    rng = np.random.default_rng(seed)
    s = (weights + weights.T).astype(np.float64)
    dist = router_distance(chip).astype(np.float64)[core_router(chip)][:, core_router(chip)]
    where = allowed[:p].copy() if initial is None else np.asarray(initial, np.int64).copy()
    occupant = np.full(n, -1, np.int64)
    occupant[where] = np.arange(p)

    def delta(a, slot_b):
        b = occupant[slot_b]
        pa = where[a]
        d_new = dist[slot_b, where] - dist[pa, where]
        change = s[a] @ d_new
        if b >= 0:
            change += s[b] @ (dist[pa, where] - dist[slot_b, where])
            change += 2 * s[a, b] * dist[pa, slot_b]
        return change

    sample = [abs(delta(int(rng.integers(p)), int(allowed[rng.integers(allowed.size)]))) for _ in range(200)]
    t0 = max(float(np.median(sample)), 1e-12) * start_temperature
    done = 0
    while done < moves:
        temp = t0 * (1e-4 ** (done / moves))
        batch = min(2048, moves - done)
        a_batch = rng.integers(p, size=batch)
        b_batch = allowed[rng.integers(allowed.size, size=batch)]
        u_batch = rng.random(batch)
        for a, slot_b, u in zip(a_batch.tolist(), b_batch.tolist(), u_batch.tolist(), strict=True):
            pa = where[a]
            if slot_b == pa:
                continue
            dlt = delta(a, slot_b)
            if dlt <= 0 or u < np.exp(-dlt / temp):
                b = occupant[slot_b]
                where[a] = slot_b
                occupant[slot_b] = a
                occupant[pa] = b
                if b >= 0:
                    where[b] = pa
        done += batch
    return where


def hierarchical_placement(n_parts: int, core_xy: Int[np.ndarray, "k 2"]) -> Int[np.ndarray, " p"]:
    """Place nested part ids (METIS recursive bisection) by cutting the cores the same way.

    Part ids `[lo, hi)` are split at `lo + (hi - lo) // 2`, as METIS splits them, and the
    cores are cut along their longer extent into the same two counts, recursively; so parts
    that METIS separated late (strongly connected) end up close.

    **Arguments:**
    - `n_parts`: number of parts, <= number of cores.
    - `core_xy`: `(k, 2)` positions of the candidate cores (index = physical core id).

    **Returns:** int array `(n_parts,)`: the core index of each part.
    """
    core_xy = np.asarray(core_xy, float)
    if n_parts > core_xy.shape[0]:
        raise ValueError(f"{n_parts} parts do not fit {core_xy.shape[0]} cores.")
    out = np.zeros(n_parts, np.int64)
    stack = [(0, n_parts, np.arange(core_xy.shape[0]))]
    while stack:  # loop over the (at most 2 * n_parts) nodes of the bisection tree
        lo, hi, cores = stack.pop()
        if hi - lo == 1:
            xy = core_xy[cores]
            out[lo] = cores[np.argmin(np.abs(xy - xy.mean(0)).sum(1))]
            continue
        mid = lo + (hi - lo) // 2
        xy = core_xy[cores]
        span = xy.max(0) - xy.min(0)
        axis = 0 if span[0] >= span[1] else 1
        ordered = cores[np.lexsort((xy[:, 1 - axis], xy[:, axis]))]
        cut = int(round(ordered.size * (mid - lo) / (hi - lo)))
        cut = min(max(cut, mid - lo), ordered.size - (hi - mid))
        stack.append((lo, mid, ordered[:cut]))
        stack.append((mid, hi, ordered[cut:]))
    return out
