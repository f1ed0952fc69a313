r"""Neuron-level refinement of a mapping on the exact unicast spike-hop objective.

$H = \sum_i r_i \sum_{c \in D_i} d(core(i), c)$. Moving neuron $v$ from core $a$ to $b$ changes
$H$ by
$$\Delta = r_v \sum_{c \in D_v} \big(d(b, c) - d(a, c)\big)
 + \sum_{u \to v} r_u \big([n_{ub} = 0]\, d(core(u), b) - [n_{ua} = m_{uv}]\, d(core(u), a)\big),$$
with $n_{uc}$ the synapses from $u$ onto core $c$ and $m_{uv}$ those onto $v$: $v$'s own
messages start elsewhere, and each presynaptic $u$ may gain core $b$ and lose core $a$.
Each round evaluates every (neuron, neighbouring core) move at once (vectorised), keeps the
improving moves that form an independent set (no two moved neurons share a synapse, so each
$\Delta$ stays exact), respects per-core capacity, and re-checks the objective (FM/KL-style
gain moves, without the hill-climbing tail).
"""

import numpy as np
from jaxtyping import Int

from .chips import Chip
from .constraints import check_constraints
from .network_graph import NeuronGraph
from .place import router_distance
from .route import core_router


def _unique_counts(keys):
    """Sorted unique int keys and their counts (a sort, cheaper than `np.unique` here)."""
    k = np.sort(keys)
    if k.size == 0:
        return k, np.zeros(0, np.int64)
    first = np.r_[True, k[1:] != k[:-1]]
    idx = np.flatnonzero(first)
    return k[idx], np.diff(np.r_[idx, k.size])


def _expand(starts, lens):
    total = int(lens.sum())
    owner = np.repeat(np.arange(lens.size), lens)
    return owner, np.repeat(starts - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(total)


def unicast_hops(graph: NeuronGraph, core_of, dist) -> float:
    """$H$ for the assignment `core_of` under the core distance matrix `dist` (spike-hops/s)."""
    c = graph.n_neurons and dist.shape[0]
    key = np.unique(graph.pre * c + core_of[graph.post])
    u, dc = key // c, key % c
    return float(graph.rates[u] @ dist[core_of[u], dc])


def refine_assignment(
    graph: NeuronGraph,
    core_of: Int[np.ndarray, " n"],
    chip: Chip,
    *,
    seed: int,
    max_rounds: int = 40,
    balance: float = 0.03,
    max_move_distance: int = 2,
    keep_feasible: bool = False,
    independent: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Improve `core_of` by moving single neurons to neighbouring cores (see module docstring).

    **Arguments:**
    - `graph`: the network (rates in Hz).
    - `core_of`: int array `(n_neurons,)`, physical cores.
    - `chip`: the platform (distances are router hops).
    - `seed`: seed for tie-breaking priorities.
    - `max_rounds`: round budget, >= 0 (each round is one vectorised pass over the candidate
      moves; the result depends only on the arguments, never on wall time).
    - `balance`: a core may hold at most `(1 + balance) * mean` neurons (and never more than the
      neuron limit); only cores already in use receive neurons.
    - `max_move_distance`: candidate cores are the cores of a neuron's synaptic partners at
      most this many hops away.
    - `keep_feasible`: undo moves into cores that then break a per-core limit.
    - `independent`: move only an independent set per round (exact gains) from the start.
      By default every neuron's best move is applied at once (gains then approximate); the
      first round that loses is undone and the rest use independent sets.

    **Returns:** `(core_of, notes)`.
    """
    if max_rounds < 0:
        raise ValueError(f"`max_rounds` must be >= 0; got {max_rounds!r}.")
    rng = np.random.default_rng(seed)
    core = np.asarray(core_of, np.int64).copy()
    n = graph.n_neurons
    cr = core_router(chip)
    dist = router_distance(chip)[cr][:, cr].astype(np.float64)
    c_tot = chip.n_cores
    r = graph.rates
    pre, post = graph.pre, graph.post
    # in-edges grouped by post, with multiplicity m_uv
    uv, m_uv = _unique_counts(post * n + pre)
    in_v, in_u = uv // n, uv % n
    in_start = np.searchsorted(in_v, np.arange(n))
    in_len = np.searchsorted(in_v, np.arange(n), side="right") - in_start
    used = np.bincount(core, minlength=c_tot) > 0
    cap = min(int(np.ceil(n / used.sum() * (1 + balance))), int(chip.neurons_per_core.value))
    cap = max(cap, int(np.bincount(core, minlength=c_tot).max()))
    notes = []
    prev = None
    before_viol = None
    if keep_feasible:
        before_viol = {v.where for v in check_constraints(graph, core, chip)}
    exact = independent
    for rnd in range(max_rounds):
        key, cnt = _unique_counts(pre * c_tot + core[post])
        pu, pc = key // c_tot, key % c_tot
        h = float(r[pu] @ dist[core[pu], pc])
        if prev is not None:
            if h > prev[0] - 1e-9 * max(prev[0], 1.0):
                core = prev[1]
                if exact:
                    notes.append(f"refinement stopped after round {rnd}: no further gain")
                    break
                exact = True  # simultaneous moves interfered: continue with independent sets
                notes.append(f"round {rnd}: simultaneous moves lost; switching to independent sets")
                key, cnt = _unique_counts(pre * c_tot + core[post])
                pu, pc = key // c_tot, key % c_tot
                h = prev[0]
                prev = None
            if prev is not None and prev[0] - h < 1e-4 * prev[0]:
                notes.append(f"refinement converged after round {rnd}")
                break
        if rnd == 0:
            notes.append(f"refinement start: {h:.6g} spike-hops/s")
        prev = (h, core.copy())
        p_start = np.searchsorted(pu, np.arange(n))
        p_len = np.searchsorted(pu, np.arange(n), side="right") - p_start
        # candidates (v, b): cores of synaptic partners, near and different from core(v); the
        # (neuron, target core) pairs are `key` already, so only the reverse pairs need a pass
        ck = np.union1d(key, _unique_counts(post * c_tot + core[pre])[0])
        cv, cb = ck // c_tot, ck % c_tot
        ok = (cb != core[cv]) & (dist[core[cv], cb] <= max_move_distance) & used[cb]
        cv, cb = cv[ok], cb[ok]
        ca = core[cv]
        if cv.size == 0:
            notes.append(f"refinement converged after round {rnd}: no candidate move")
            break
        notes.append(f"round {rnd}: {cv.size} candidate moves") if rnd == 0 else None
        # source term
        own, idx = _expand(p_start[cv], p_len[cv])
        src = (
            np.bincount(own, weights=dist[cb[own], pc[idx]] - dist[ca[own], pc[idx]], minlength=cv.size)
            * r[cv]
        )
        # target term, lose part (depends on v only): presynaptic u whose only synapses on a go to v
        vs = np.unique(cv)
        own_v, idx_v = _expand(in_start[vs], in_len[vs])
        u_v = in_u[idx_v]
        ka = u_v * c_tot + core[vs][own_v]
        lose = cnt[np.searchsorted(key, ka)] == m_uv[idx_v]
        lose_v = np.zeros(n)
        lose_v[vs] = np.bincount(
            own_v, weights=r[u_v] * lose * dist[core[u_v], core[vs][own_v]], minlength=vs.size
        )
        # the gain part is >= 0, so only candidates with src - lose < 0 can improve
        hopeful = src - lose_v[cv] < 0
        cv, cb, ca, src = cv[hopeful], cb[hopeful], ca[hopeful], src[hopeful]
        if cv.size == 0:
            notes.append(f"refinement converged after round {rnd}: no improving move")
            break
        own2, idx2 = _expand(in_start[cv], in_len[cv])
        u = in_u[idx2]
        kb = u * c_tot + cb[own2]
        pos = np.minimum(np.searchsorted(key, kb), key.size - 1)
        gain_b = key[pos] != kb
        tgt = (
            np.bincount(own2, weights=r[u] * gain_b * dist[core[u], cb[own2]], minlength=cv.size) - lose_v[cv]
        )
        delta = src + tgt
        # best candidate per neuron
        order = np.lexsort((delta, cv))
        first = np.r_[True, cv[order][1:] != cv[order][:-1]]
        best = order[first]
        best = best[delta[best] < -1e-12]
        if best.size == 0:
            notes.append(f"refinement converged after round {rnd}: no improving move")
            break
        mv, mb, md = cv[best], cb[best], delta[best]
        # independent set: a mover keeps its move only if no synaptic partner moves with more gain
        prio = np.zeros(n)
        prio[mv] = -md + 1e-9 * rng.random(mv.size)
        moving = np.zeros(n, bool)
        moving[mv] = True
        both = moving[pre] & moving[post] & (pre != post)
        top = np.zeros(n)
        np.maximum.at(top, pre[both], prio[post[both]])
        np.maximum.at(top, post[both], prio[pre[both]])
        keep = (prio[mv] > top[mv]) if exact else np.ones(mv.size, bool)
        mv, mb, md = mv[keep], mb[keep], md[keep]
        # capacity: at most `room` arrivals per core, best gains first
        count = np.bincount(core, minlength=c_tot)
        room = cap - count
        o = np.lexsort((md, mb))
        mv, mb, md = mv[o], mb[o], md[o]
        grp_start = np.searchsorted(mb, mb)
        rank = np.arange(mb.size) - grp_start
        keep = rank < room[mb]
        mv, mb = mv[keep], mb[keep]
        core[mv] = mb
        if keep_feasible and mv.size:
            bad = {v.where for v in check_constraints(graph, core, chip)} - before_viol
            if bad:
                bad_cores = np.array([int(w.split()[1]) for w in bad if w.startswith("core ")], np.int64)
                undo = np.isin(mb, bad_cores)
                core[mv[undo]] = prev[1][mv[undo]]
                if {v.where for v in check_constraints(graph, core, chip)} - before_viol:
                    core = prev[1]  # a move broke a limit elsewhere: drop the whole round
                    notes.append(f"refinement stopped at round {rnd}: moves would break a limit")
                    break
    else:
        notes.append(f"refinement used all {max_rounds} rounds")
    key = np.unique(pre * c_tot + core[post])
    h_end = float(r[key // c_tot] @ dist[core[key // c_tot], key % c_tot])
    notes.append(f"refinement end: {h_end:.6g} spike-hops/s")
    return core, notes
