r"""A network with community structure, for testing and benchmarking partitions.

`clustered_network` wires excitatory and inhibitory LIF neurons (80/20, the CUBA benchmark's
parameters) into `n_clusters` communities: each neuron takes most of its inputs from its own
community and a few from the others. The community of each neuron is drawn at random, so
neighbouring ids belong to different communities: a contiguous split of the ids cuts almost
every community across all devices, while a graph partitioner can keep each one together.
"""

import numpy as np

from .._validation import require_in_range, require_positive_int
from ..dynamics import CUBA, LIF, ExponentialSynapse, PoissonInput
from ..network import Network, Population, Projection
from ..ops import CSR, ELL, Dense

FORMATS = ("csr", "ell", "dense")


def clustered_network(
    n: int,
    n_clusters: int = 4,
    *,
    seed: int = 0,
    in_degree: int = 40,
    outside_fraction: float = 0.05,
    delay_steps: int = 1,
    poisson_rate: float = 20.0,
    connectivity: str = "csr",
) -> tuple[Network, np.ndarray]:
    r"""An E/I network of `n` LIF neurons in `n_clusters` randomly interleaved communities.

    Populations `"E"` (80%) and `"I"` (20%), CUBA benchmark neurons and weights (16.2 pA from
    E, -90 pA from I, exponential synapses of 5 and 10 ms), each neuron with `in_degree`
    inputs (80% from E), a fraction `outside_fraction` of them from other communities, and a
    `PoissonInput` of 50 sources at `poisson_rate` Hz (16.2 pA per spike) onto each population.

    **Arguments:**
    - `n`: neurons, >= 5; `n_clusters`: communities, in [1, n].
    - `seed`: NumPy seed of the wiring and the community labels.
    - `in_degree`: inputs per neuron, >= 1 (multapses allowed).
    - `outside_fraction`: in [0, 1].
    - `delay_steps`: the delay of every projection, steps.
    - `poisson_rate`: Hz, >= 0.
    - `connectivity`: `"csr"`, `"ell"` or `"dense"`.

    **Returns:** `(network, community)`: the `Network` and an int array `(n,)` of community
    labels in global numbering (E then I).
    """
    n = require_positive_int("n", n)
    if n < 5:
        raise ValueError(f"`n` must be >= 5 (80% E / 20% I); got {n}.")
    n_clusters = require_positive_int("n_clusters", n_clusters)
    if n_clusters > n:
        raise ValueError(f"`n_clusters` must be in [1, n = {n}]; got {n_clusters}.")
    require_positive_int("in_degree", in_degree)
    require_in_range("outside_fraction", outside_fraction, 0.0, 1.0)
    if connectivity not in FORMATS:
        raise ValueError(f"`connectivity` must be one of {FORMATS}; got {connectivity!r}.")
    rng = np.random.default_rng(seed)
    sizes = {"E": round(0.8 * n), "I": n - round(0.8 * n)}
    community = rng.permutation(np.arange(n) % n_clusters)
    labels = {"E": community[: sizes["E"]], "I": community[sizes["E"] :]}
    degree = {"E": max(1, round(0.8 * in_degree)), "I": max(1, in_degree - round(0.8 * in_degree))}
    lif = LIF(c_m=200.0, g_leak=10.0, e_leak=-49.0, v_threshold=-50.0, v_reset=-60.0, t_ref=5.0)
    synapses = {"E": ExponentialSynapse(tau=5.0), "I": ExponentialSynapse(tau=10.0)}
    weights = {"E": 16.2, "I": -90.0}
    projections = []
    for src in sizes:  # loop over the four projections (static structure)
        for dst in sizes:
            pre = _sources(rng, labels[src], labels[dst], degree[src], outside_fraction)
            post = np.repeat(np.arange(sizes[dst]), degree[src])
            conn = _format(connectivity, pre, post, sizes[src], sizes[dst], weights[src])
            projections.append(Projection(src, dst, conn, synapses[src], CUBA(), delay_steps=delay_steps))
    inputs = [
        PoissonInput(name, 50, poisson_rate, 16.2, ExponentialSynapse(tau=5.0), CUBA()) for name in sizes
    ]
    populations = [Population(name, size, lif) for name, size in sizes.items()]
    return Network(populations, projections, inputs), community


def _sources(rng, pre_labels, post_labels, k: int, outside: float) -> np.ndarray:
    """`k` presynaptic indices per postsynaptic neuron (row-major `(n_post * k,)`): from its
    own community with probability `1 - outside`, else from a uniformly chosen other one."""
    n_clusters = int(max(pre_labels.max(), post_labels.max())) + 1
    order = np.argsort(pre_labels, kind="stable")
    counts = np.bincount(pre_labels, minlength=n_clusters)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    own = np.repeat(post_labels, k)
    shift = rng.integers(1, max(n_clusters, 2), own.size) * (rng.random(own.size) < outside)
    cluster = (own + shift) % n_clusters
    cluster = np.where(counts[cluster] > 0, cluster, own)  # a community without such neurons
    cluster = np.where(counts[cluster] > 0, cluster, np.argmax(counts))
    return order[starts[cluster] + (rng.random(own.size) * counts[cluster]).astype(np.int64)]


def _format(kind: str, pre, post, n_pre: int, n_post: int, weight: float):
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    if kind == "dense":
        matrix = np.zeros((n_pre, n_post), np.float32)
        np.add.at(matrix, (pre, post), np.float32(weight))
        return Dense(matrix)
    counts = np.bincount(pre, minlength=n_pre)
    if kind == "csr":
        return CSR(np.r_[0, np.cumsum(counts)].astype(np.int32), post.astype(np.int32), weight, n_post)
    width = max(int(counts.max(initial=0)), 1)
    rank = np.arange(pre.size) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    targets = np.full((n_pre, width), n_post, np.int32)
    targets[pre, rank] = post
    return ELL(targets, weight, n_post)
