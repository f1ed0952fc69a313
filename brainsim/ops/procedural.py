r"""Procedural (seed-regenerated) connectivity: O(1) memory in the number of synapses.

Row $i$ (the synapses of presynaptic neuron $i$) is regenerated on demand from a counter-based
random stream, `fold_in(key, i)` (threefry: the same key gives the same network on every
platform), so a network of $10^7$ neurons with $8 \cdot 10^8$ synapses stores only a key. Each
row draws its synapse count $K_i$ (fixed out-degree $k$, or $K_i \sim \mathrm{Binomial}(n_\mathrm{post},
p)$), its targets uniformly over the postsynaptic population, **with replacement** (a pair can
repeat, as in NEST's `fixed_outdegree` with `allow_multapses=True`), and its weights
$w_{ij} = w + \sigma \xi_{ij}$, $\xi \sim \mathcal{N}(0, 1)$.

`event_matvec` regenerates only the rows of neurons that spiked: O(active rows x row length)
work. More active rows than `max_active` take an exact path that regenerates every row in
blocks (memory O(block x row length), never O(synapses)). Gradients reach `weight`,
`weight_std` and the spikes by ordinary autodiff of the regeneration and the scatter.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray, UInt

from .._validation import (
    require_in_range,
    require_nonnegative,
    require_nonnegative_int,
    require_positive_int,
)
from .event import (
    _active_rows,
    _smallest_fitting,
    _use_native,
    active_count_exceeds_buffer,
    event_matvec,
)
from .formats import AbstractConnectivity, default_max_active, n_synapses, scale_weights, to_coo, to_dense

_EXACT_BLOCK_ROWS = 1024


class Procedural(AbstractConnectivity):
    r"""Seed-regenerated connectivity from `n_pre` to `n_post` neurons.

    **Arguments:**
    - `key`: a `jax.random` key; the network is a pure function of it.
    - `n_pre`, `n_post`: population sizes.
    - `degree`: synapses per presynaptic neuron (fixed out-degree), in [0, `n_post`]; or
    - `probability`: connection probability $p$ in [0, 1] (per-row counts are binomial; the
      draw is capped at `max_row_length` = $\lceil n p + 10 \sqrt{n p (1-p)} + 10 \rceil$,
      exceeded with probability below $10^{-20}$ per row). Give exactly one of the two.
    - `weight`: mean weight $w$, in the receiving synapse's unit (nS or pA).
    - `weight_std`: standard deviation $\sigma$ of the weights (>= 0; 0: homogeneous).
    - `max_active`: active-row buffer of `event_matvec` (default as the other formats).
    """

    key_data: UInt[Array, "..."]
    weight: Float[Array, ""]
    weight_std: Float[Array, ""]
    n_pre: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    degree: int | None = eqx.field(static=True)
    probability: float | None = eqx.field(static=True)
    max_row_length: int = eqx.field(static=True)
    max_active: int = eqx.field(static=True)

    def __init__(
        self,
        key: PRNGKeyArray,
        n_pre: int,
        n_post: int,
        *,
        degree: int | None = None,
        probability: float | None = None,
        weight: float | Float[Array, ""] = 1.0,
        weight_std: float | Float[Array, ""] = 0.0,
        max_active: int | None = None,
    ):
        self.n_pre = require_positive_int("n_pre", n_pre)
        self.n_post = require_positive_int("n_post", n_post)
        if (degree is None) == (probability is None):
            raise ValueError("give exactly one of `degree` and `probability`.")
        if degree is not None:
            require_nonnegative_int("degree", degree)
            if degree > n_post:
                raise ValueError(f"`degree` must be in [0, n_post = {n_post}]; got {degree}.")
            self.max_row_length = degree
        else:
            require_in_range("probability", probability, 0.0, 1.0)
            mean = n_post * probability
            spread = math.sqrt(mean * (1.0 - probability))
            self.max_row_length = min(n_post, math.ceil(mean + 10.0 * spread + 10.0))
        self.degree, self.probability = degree, probability
        self.key_data = jr.key_data(key)
        self.weight = jnp.asarray(weight, jnp.result_type(float))  # float32 unless x64 is on
        self.weight_std = jnp.asarray(weight_std, jnp.result_type(float))
        require_nonnegative("weight_std", weight_std)
        self.max_active = default_max_active(n_pre) if max_active is None else max_active

    def rows(self, rows: Int[Array, " m"]) -> tuple[Int[Array, "m L"], Float[Array, "m L"]]:
        """Targets and weights of presynaptic neurons `rows`, shape `(m, max_row_length)`;
        slots beyond a row's synapse count have target `n_post` (no synapse)."""
        key = jr.wrap_key_data(self.key_data)
        return jax.vmap(lambda i: self._row(jr.fold_in(key, i)))(rows)

    def _row(self, key):
        key_count, key_targets, key_weights = jr.split(key, 3)
        length = self.max_row_length
        if self.degree is not None:
            count = self.degree
        else:
            count = jr.binomial(key_count, self.n_post, self.probability).astype(jnp.int32)
        slot = jnp.arange(length)
        targets = jr.randint(key_targets, (length,), 0, self.n_post, dtype=jnp.int32)
        targets = jnp.where(slot < count, targets, self.n_post)
        noise = jr.normal(key_weights, (length,))
        return targets, self.weight + self.weight_std * noise


@event_matvec.register(Procedural)
def _(conn: Procedural, spikes, *, kernel: str = "auto"):
    _use_native(kernel, spikes.dtype)  # validates `kernel`; procedural rows are regenerated in JAX
    spikes = jnp.asarray(spikes)
    dtype = jnp.result_type(conn.weight, spikes)
    spikes = spikes.astype(dtype)

    def sparse(conn, spikes, *, size):
        rows, valid = _active_rows(spikes, size)
        targets, weights = conn.rows(rows)
        targets = jnp.where(valid[:, None], targets, conn.n_post)
        return _scatter(targets, spikes[rows][:, None] * weights, conn.n_post, dtype)

    def exact(conn, spikes):
        n_blocks = -(-conn.n_pre // _EXACT_BLOCK_ROWS)

        def block(b, y):
            rows = b * _EXACT_BLOCK_ROWS + jnp.arange(_EXACT_BLOCK_ROWS)
            real = rows < conn.n_pre
            rows = jnp.minimum(rows, conn.n_pre - 1)
            targets, weights = conn.rows(rows)
            targets = jnp.where(real[:, None], targets, conn.n_post)
            return y + _scatter(targets, spikes[rows][:, None] * weights, conn.n_post, dtype)

        return jax.lax.fori_loop(0, n_blocks, block, jnp.zeros(conn.n_post, dtype))

    return _smallest_fitting(spikes, conn.max_active, sparse, exact, conn, spikes)


@active_count_exceeds_buffer.register(Procedural)
def _(conn: Procedural, spikes):
    return jnp.sum(spikes != 0) > conn.max_active


def _scatter(targets, values, n_post, dtype):
    values = jnp.broadcast_to(values, targets.shape).astype(dtype)
    return jnp.zeros(n_post, dtype).at[targets.ravel()].add(values.ravel(), mode="drop")


def _all_rows(conn: Procedural) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(pre, post, weight)` of every synapse, regenerated in blocks (for small networks)."""
    parts = []
    for start in range(0, conn.n_pre, _EXACT_BLOCK_ROWS):
        rows = jnp.arange(start, min(start + _EXACT_BLOCK_ROWS, conn.n_pre))
        targets, weights = (np.asarray(a) for a in conn.rows(rows))
        real = targets < conn.n_post
        pre = np.broadcast_to(np.asarray(rows)[:, None], targets.shape)
        parts.append((pre[real], targets[real], weights[real]))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


@to_coo.register(Procedural)
def _(conn: Procedural):
    pre, post, weight = _all_rows(conn)
    return pre.astype(np.int32), post.astype(np.int32), weight


@to_dense.register(Procedural)
def _(conn: Procedural):
    rows = jnp.arange(conn.n_pre)
    targets, weights = conn.rows(rows)
    dense = jnp.zeros((conn.n_pre, conn.n_post + 1), weights.dtype)
    dense = dense.at[jnp.broadcast_to(rows[:, None], targets.shape), targets].add(weights)
    return dense[:, : conn.n_post]


@n_synapses.register(Procedural)
def _(conn: Procedural):
    if conn.degree is not None:
        return conn.n_pre * conn.degree
    return int(_all_rows(conn)[0].shape[0])


@scale_weights.register(Procedural)
def _(conn: Procedural, factor):
    return eqx.tree_at(
        lambda c: (c.weight, c.weight_std), conn, (conn.weight * factor, conn.weight_std * factor)
    )
