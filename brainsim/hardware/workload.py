r"""The W-M100k benchmark workload (reference section 4) and its geometric oracle mapping.

16 modules on a 4 x 4 module torus (module $m = 4 m_y + m_x$), each an $81 \times 81$
periodic sheet. Every neuron receives 32 local synapses, presynaptic offset
$\mathrm{round}(\mathcal N(0, \sigma^2))$ per axis with $\sigma = 3$ (wrapped; self and
duplicate sources re-drawn), and 4 long-range synapses, one from a uniform neuron of each
torus-neighbour module. Rates are log-normal, $r = e^{\mu + \sigma_r Z}$,
$\mu = \ln 5 - \sigma_r^2/2$, $\sigma_r = 1$ (mean 5 Hz).
"""

from dataclasses import dataclass

import numpy as np

from .network_graph import NeuronGraph


@dataclass(frozen=True)
class SheetWorkload:
    """A modular sheet network and the geometry the mapper is not told about.

    **Fields:**
    - `graph`: the `NeuronGraph` (populations = modules).
    - `module`, `row`, `col`: int arrays `(n_neurons,)`, each neuron's module and sheet position.
    - `modules_per_side`, `side`: module torus side and sheet side.
    - `order`: `"spatial"` or `"shuffled"` neuron ids.
    """

    graph: NeuronGraph
    module: np.ndarray
    row: np.ndarray
    col: np.ndarray
    modules_per_side: int
    side: int
    order: str


def modular_sheets(
    *,
    seed: int,
    order: str = "spatial",
    modules_per_side: int = 4,
    side: int = 81,
    local_in: int = 32,
    sigma: float = 3.0,
    mean_rate: float = 5.0,
    rate_sigma: float = 1.0,
) -> SheetWorkload:
    """Generate a modular sheet workload; the defaults are W-M100k.

    **Arguments:**
    - `seed`: integer seed for connectivity, rates and the id shuffle.
    - `order`: `"spatial"` (id = side^2 m + side i + j) or `"shuffled"` (random within module).
    - `modules_per_side`: module torus side, >= 2 (4 -> 16 modules).
    - `side`: sheet side per module, >= 3.
    - `local_in`: local synapses per neuron, in [1, side^2 - 1).
    - `sigma`: local offset standard deviation, sheet units, > 0.
    - `mean_rate`: mean rate, Hz, > 0; `rate_sigma`: log-normal sigma, >= 0.

    **Returns:** a `SheetWorkload`.
    """
    if order not in ("spatial", "shuffled"):
        raise ValueError(f"`order` must be 'spatial' or 'shuffled'; got {order!r}.")
    if modules_per_side < 2:
        raise ValueError(f"`modules_per_side` must be >= 2; got {modules_per_side!r}.")
    if side < 3:
        raise ValueError(f"`side` must be >= 3; got {side!r}.")
    if not 1 <= local_in < side * side - 1:
        raise ValueError(f"`local_in` must be in [1, {side * side - 1}); got {local_in!r}.")
    rng = np.random.default_rng(seed)
    n_mod = modules_per_side**2
    per = side * side
    n = n_mod * per
    post = np.arange(n)
    m, local = np.divmod(post, per)
    i, j = np.divmod(local, side)

    # local synapses: over-draw candidates, drop self and duplicates, keep the first `local_in`
    draws = 3 * local_in + 16
    off = np.rint(rng.normal(0.0, sigma, size=(n, draws, 2))).astype(np.int64)
    si = (i[:, None] + off[..., 0]) % side
    sj = (j[:, None] + off[..., 1]) % side
    src = si * side + sj
    key = (post[:, None] * per + src).ravel()
    _, first = np.unique(key, return_index=True)
    valid = np.zeros(key.shape, bool)
    valid[first] = True
    valid = valid.reshape(n, draws) & (src != local[:, None])
    keep = valid & (np.cumsum(valid, axis=1) <= local_in)
    if np.any(keep.sum(1) < local_in):
        raise RuntimeError("`modular_sheets` drew too few distinct local sources; raise `draws`.")
    local_pre = (m[:, None] * per + src)[keep]
    local_post = np.repeat(post, local_in)

    # long-range: one uniform source in each torus-neighbour module
    mx, my = m % modules_per_side, m // modules_per_side
    nb = [
        ((mx + dx) % modules_per_side) + modules_per_side * ((my + dy) % modules_per_side)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
    ]
    long_pre = np.stack([b * per + rng.integers(0, per, size=n) for b in nb], axis=1).ravel()
    long_post = np.repeat(post, 4)
    pre_sp = np.concatenate([local_pre, long_pre])
    post_sp = np.concatenate([local_post, long_post])
    mu = np.log(mean_rate) - rate_sigma**2 / 2
    rates_sp = np.exp(mu + rate_sigma * rng.standard_normal(n))

    if order == "shuffled":
        new_id = (m * per + np.argsort(rng.random((n_mod, per)), axis=1).ravel()).astype(np.int64)
    else:
        new_id = post.copy()
    inv = np.empty(n, np.int64)
    inv[new_id] = post  # spatial index of each new id
    graph = NeuronGraph(
        n,
        new_id[pre_sp],
        new_id[post_sp],
        rates_sp[inv],
        m[inv],
        tuple(f"module{k}" for k in range(n_mod)),
    )
    return SheetWorkload(graph, m[inv], i[inv], j[inv], modules_per_side, side, order)


def w_m100k(*, seed: int, order: str = "spatial") -> SheetWorkload:
    """W-M100k: 16 modules of 81 x 81 neurons (104,976 neurons, 3,779,136 synapses)."""
    return modular_sheets(seed=seed, order=order)


def geometric_oracle(workload: SheetWorkload, patches_per_side: int) -> np.ndarray:
    """The oracle mapping: each module split into square patches on a square block of nodes.

    Module $(m_x, m_y)$ takes nodes $[p m_x, p m_x + p) \\times [p m_y, p m_y + p)$ and patch
    $(i // s, j // s)$ with $s = $ side / p goes to node $(p m_x + j // s, p m_y + i // s)$.
    Nodes are numbered $y \\cdot W + x$ with $W = p \\cdot$ `modules_per_side` (a
    `generic_mesh(W, W)` core index).

    **Returns:** int array `(n_neurons,)` of core indices.
    """
    p = patches_per_side
    if p < 1 or workload.side % p:
        raise ValueError(f"`patches_per_side` must divide the sheet side {workload.side}; got {p!r}.")
    s = workload.side // p
    mx, my = workload.module % workload.modules_per_side, workload.module // workload.modules_per_side
    x = p * mx + workload.col // s
    y = p * my + workload.row // s
    return (y * p * workload.modules_per_side + x).astype(np.int64)
