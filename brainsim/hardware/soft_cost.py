r"""Differentiable traffic cost of a soft (probabilistic) assignment, in JAX.

With $P_{ia}$ the probability that neuron (or logical core) $i$ sits on core $a$, drawn
independently, and $d$ the hop distance between cores:

- **Exact expected unicast spike-hops** (`expected_spike_hops`):
  $q_{ic} = 1 - \prod_{j \in post(i)} (1 - P_{jc})$ is the probability that core $c \in D_i$, and
  $\mathbb E[H] = \sum_i r_i \sum_{a,c} P_{ia}\, d(a, c)\, q_{ic}$. For one-hot $P$ this is the
  cost model's $H$ exactly.
- **Placement cost** (`placement_cost`): $\sum_{a,b} W_{ab}\,(P D P^\top)_{ab}$ for traffic
  $W$ between logical cores, the relaxed quadratic assignment that annealing solves.
- **Synapse hop cost** (`synapse_hop_cost`): $\sum_s |w_s|\, r_{pre(s)}\, (P_{pre} D P_{post}^\top)$,
  a mapping-aware regulariser for training: gradients flow to the weights and to $P$.

`gradient_placement` minimises the placement cost by Adam on softmax logits, with a
capacity penalty, then rounds to a one-to-one placement (Hungarian assignment).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .chips import Chip
from .place import router_distance
from .route import core_router


def core_distance(chip: Chip) -> Float[Array, "c c"]:
    """Hop distance between every pair of cores of `chip`, as a float JAX array."""
    cr = core_router(chip)
    return jnp.asarray(router_distance(chip)[cr][:, cr], jnp.float32)


def expected_spike_hops(
    assignment: Float[Array, "n c"],
    pre: Int[Array, " s"],
    post: Int[Array, " s"],
    rates: Float[Array, " n"],
    distance: Float[Array, "c c"],
) -> Float[Array, ""]:
    r"""Expected unicast spike-hops per second, $\sum_i r_i \sum_{a,c} P_{ia} d(a,c) q_{ic}$.

    **Arguments:**
    - `assignment`: `(n, c)` rows on the probability simplex (e.g. `jax.nn.softmax(logits)`).
    - `pre`, `post`: `(s,)` synapse endpoints, each (pre, post) pair once (duplicates would
      count a target twice in the product; deduplicate with `np.unique`). Checked when concrete.
    - `rates`: `(n,)`, Hz.
    - `distance`: `(c, c)` hop distances (`core_distance(chip)`).

    **Returns:** scalar, spike-hops/s.
    """
    n = assignment.shape[0]
    try:
        key = np.asarray(pre, np.int64) * n + np.asarray(post, np.int64)
    except jax.errors.TracerArrayConversionError:
        key = None  # traced: the caller's contract
    if key is not None and np.unique(key).size != key.size:
        raise ValueError(
            "`pre`/`post` must list each (pre, post) pair once; deduplicate them with `np.unique`."
        )
    # a self-synapse only ever adds core(i) itself, at distance 0: leave it out of the product
    not_self = (pre != post)[:, None]
    log_absent = jnp.where(not_self, jnp.log1p(-jnp.clip(assignment[post], 0.0, 1.0 - 1e-7)), 0.0)  # (s, c)
    present = 1.0 - jnp.exp(jax.ops.segment_sum(log_absent, pre, num_segments=n))  # q_ic
    return jnp.sum(rates[:, None] * (assignment @ distance) * present)


def placement_cost(
    assignment: Float[Array, "p c"], traffic: Float[Array, "p p"], distance: Float[Array, "c c"]
) -> Float[Array, ""]:
    r"""$\sum_{a,b} W_{ab}\,(P D P^\top)_{ab}$: expected rate x hops between logical cores."""
    return jnp.sum(traffic * (assignment @ distance @ assignment.T))


def synapse_hop_cost(
    weights: Float[Array, " s"],
    assignment: Float[Array, "n c"],
    pre: Int[Array, " s"],
    post: Int[Array, " s"],
    rates: Float[Array, " n"],
    distance: Float[Array, "c c"],
) -> Float[Array, ""]:
    r"""Regulariser $\sum_s |w_s|\, r_{pre(s)}\, \mathbb E[d(core(pre), core(post))]$ (Hz x hops x weight).

    Add `lambda * synapse_hop_cost(...)` to a training loss to favour weights that are cheap
    to route on the chip; differentiable in `weights` and `assignment`."""
    hops = jnp.sum((assignment[pre] @ distance) * assignment[post], axis=1)
    return jnp.sum(jnp.abs(weights) * rates[pre] * hops)


def gradient_placement(
    traffic: Float[np.ndarray, "p p"],
    chip: Chip,
    *,
    key: PRNGKeyArray,
    initial: Int[np.ndarray, " p"] | None = None,
    steps: int = 300,
    learning_rate: float = 0.05,
    capacity_weight: float = 1.0,
) -> Int[np.ndarray, " p"]:
    r"""Place logical cores by gradient descent on the relaxed placement cost.

    Minimises $\mathrm{placement\_cost}(\mathrm{softmax}(L)) + \lambda \sum_c
    \max(0, \sum_a P_{ac} - 1)^2 \cdot \bar W$ with Adam, then rounds with a maximum-probability
    one-to-one assignment (Hungarian method on $-\log P$).

    **Arguments:**
    - `traffic`: `(p, p)` spikes/s between logical cores (`mapping.part_traffic`).
    - `chip`: the platform (p <= `chip.n_cores`).
    - `key`: JAX key for the initial logits' noise.
    - `initial`: optional starting placement (its logits start peaked there).
    - `steps`: Adam steps, >= 1; `learning_rate` > 0; `capacity_weight` >= 0.

    **Returns:** int array `(p,)`: the physical core of each logical core (all distinct).
    """
    p = traffic.shape[0]
    c = chip.n_cores
    if p > c:
        raise ValueError(f"{p} logical cores do not fit the {c} cores of `{chip.name}`.")
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1; got {steps!r}.")
    dist = core_distance(chip)
    w = jnp.asarray(traffic, jnp.float32)
    scale = float(np.sum(traffic)) / max(p, 1) + 1e-12
    logits = 0.01 * jax.random.normal(key, (p, c))
    if initial is not None:
        logits = logits.at[jnp.arange(p), jnp.asarray(initial)].add(3.0)

    def loss(lg):
        prob = jax.nn.softmax(lg, axis=1)
        over = jnp.maximum(prob.sum(0) - 1.0, 0.0)
        return placement_cost(prob, w, dist) / scale + capacity_weight * jnp.sum(over**2) * p

    import optax  # here, not at module level: `import brainsim.hardware` stays light

    opt = optax.adam(learning_rate)

    @jax.jit
    def run(lg):
        def body(carry, _):
            lg, state = carry
            g = jax.grad(loss)(lg)
            upd, state = opt.update(g, state, lg)
            return (optax.apply_updates(lg, upd), state), None

        # optax's update mixes its int32 step count with floats: standard promotion for it,
        # whatever the caller's `jax_numpy_dtype_promotion`
        with jax.numpy_dtype_promotion("standard"):
            (lg, _), _ = jax.lax.scan(body, (lg, opt.init(lg)), None, length=steps)
        return lg

    prob = np.asarray(jax.nn.softmax(run(logits), axis=1))
    return _min_cost_assignment(-np.log(prob + 1e-12))


def _min_cost_assignment(cost: Float[np.ndarray, "p c"]) -> Int[np.ndarray, " p"]:
    r"""Rows to distinct columns at least total cost: $\min_\sigma \sum_i C_{i\sigma(i)}$, $p \le c$.

    The Hungarian method with potentials (shortest augmenting paths, as in Jonker and
    Volgenant): one augmentation per row, each a Dijkstra-like scan vectorised over the columns,
    so O(p^2 c) in the worst case. Exact for finite costs; same optimum as
    `scipy.optimize.linear_sum_assignment`, without depending on scipy.

    **Arguments:**
    - `cost`: finite float array `(p, c)` with `p <= c`.

    **Returns:** int array `(p,)`: the column of each row (all distinct).
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2 or cost.shape[0] > cost.shape[1]:
        raise ValueError(f"`cost` must be 2-D with no more rows than columns; got shape {cost.shape}.")
    if not np.all(np.isfinite(cost)):
        raise ValueError("`cost` must be finite.")
    p, c = cost.shape
    # 1-based rows and columns; column 0 is a virtual start, row 0 means "free"
    u = np.zeros(p + 1)
    v = np.zeros(c + 1)
    row_of = np.zeros(c + 1, np.int64)
    for i in range(1, p + 1):  # one augmenting path per row (static structure, not time)
        row_of[0] = i
        j0 = 0
        min_slack = np.full(c + 1, np.inf)
        came_from = np.zeros(c + 1, np.int64)
        visited = np.zeros(c + 1, bool)
        while True:
            visited[j0] = True
            i0 = row_of[j0]
            slack = cost[i0 - 1] - u[i0] - v[1:]
            better = ~visited[1:] & (slack < min_slack[1:])
            min_slack[1:] = np.where(better, slack, min_slack[1:])
            came_from[1:] = np.where(better, j0, came_from[1:])
            open_slack = np.where(visited[1:], np.inf, min_slack[1:])
            j1 = int(np.argmin(open_slack)) + 1
            step = open_slack[j1 - 1]
            u[row_of[visited]] += step  # distinct rows: one per visited column
            v[visited] -= step
            min_slack[~visited] -= step
            j0 = j1
            if row_of[j0] == 0:
                break
        while j0:  # flip the path back to the virtual column
            j1 = came_from[j0]
            row_of[j0] = row_of[j1]
            j0 = j1
    out = np.empty(p, np.int64)
    matched = np.flatnonzero(row_of[1:]) + 1
    out[row_of[matched] - 1] = matched - 1
    return out
