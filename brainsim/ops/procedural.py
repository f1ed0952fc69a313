r"""Procedural (seed-regenerated) connectivity: O(N) memory whatever the number of synapses.

Row $i$ (the synapses of presynaptic neuron $i$) is regenerated on demand from a counter-based
hash, so a network of $10^7$ neurons with $8 \cdot 10^8$ synapses stores a key (and, for a
connection probability, one synapse count per row). The specification, which the pure-JAX
path, the native CPU kernels (`_native/procedural_rows.h`) and the fused engine all follow bit
for bit:

- `key_words` $= (k_0, k_1)$: the key's two Threefry words (`jax.random.key_data` of a
  `threefry2x32` key, else `jax.random.bits(key, 2)`);
- $(y_0, y_1) = \mathrm{Threefry\text{-}2x32}_{20}(k;\ i,\ q)$ for pair $q = 0, 1, \ldots$;
  slot $2q$ of row $i$ targets $\lfloor y_0 n_\mathrm{post} / 2^{32} \rfloor$ and slot $2q+1$
  targets $\lfloor y_1 n_\mathrm{post} / 2^{32} \rfloor$: uniform over the postsynaptic
  population **with replacement** (a pair can repeat, as NEST's `fixed_outdegree` with
  `allow_multapses=True`; the multiply-shift map favours some targets by at most
  $n_\mathrm{post} / 2^{32}$ in relative probability, 0.2% at $10^7$);
- row $i$ has $K_i$ synapses (its first $K_i$ slots): a fixed out-degree $k$, or
  $K_i \sim \mathrm{Binomial}(n_\mathrm{post}, p)$ drawn once when the format is built and
  stored (`counts`, int32: the O(N) part);
- weights $w_{ij} = w + \sigma \xi_{ij}$; with $\sigma \neq 0$,
  $\xi = \Phi^{-1}(u)$, $u = (\lfloor z / 2^9 \rfloor + 1/2)\, 2^{-23}$ for the hash word $z$ of
  the same slot under the counter $(i, 2^{31} + q)$.

Integer operations only decide the network, so the same key gives the same synapses on every
platform (CPU, GPU) and in every kernel (tested against a pure-Python Threefry).

`event_matvec` regenerates only the rows of neurons that spiked: O(active rows x row length)
work. In JAX, more active rows than `max_active` take an exact path that regenerates every row
in blocks (memory O(block x row length), never O(synapses)); the native CPU kernel (homogeneous
weights, `kernel="auto"` on CPU) has no buffer. Gradients reach `weight`, `weight_std` and the
spikes: by autodiff of the regeneration in JAX, by a custom VJP over a native row-sum kernel
($\partial L / \partial s_i = w \sum_{c < K_i} g_{t_{ic}}$) on the native path.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.extend.random import threefry2x32_p
from jax.scipy.special import ndtri
from jaxtyping import Array, Float, Int, PRNGKeyArray, UInt

from .._validation import (
    require_in_range,
    require_nonnegative,
    require_nonnegative_int,
    require_positive_int,
)
from . import _native
from ._base import (
    AbstractConnectivity,
    default_max_active,
    n_synapses,
    scale_weights,
    stored_synapses,
    stored_weights,
    to_dense,
)
from ._compaction import active_rows, overflows, smallest_fitting
from .event import _lead, _select_kernel, active_count_exceeds_buffer, event_matvec

_EXACT_BLOCK_ROWS = 1024
_NOISE_COUNTER = np.uint32(0x80000000)  # pair counters of the weight noise: (i, 2^31 + q)


class Procedural(AbstractConnectivity):
    r"""Seed-regenerated connectivity from `n_pre` to `n_post` neurons.

    **Arguments:**
    - `key`: a `jax.random` key; the network is a pure function of it.
    - `n_pre`, `n_post`: population sizes (below $2^{31}$).
    - `degree`: synapses per presynaptic neuron (fixed out-degree), in [0, `n_post`]; or
    - `probability`: connection probability $p$ in [0, 1] (per-row counts are binomial, drawn
      once and stored: 4 bytes per presynaptic neuron; capped at `max_row_length` =
      $\lceil n p + 10 \sqrt{n p (1-p)} + 10 \rceil$, exceeded with probability below
      $10^{-20}$ per row). Give exactly one of the two.
    - `weight`: mean weight $w$, in the receiving synapse's unit (nS or pA).
    - `weight_std`: standard deviation $\sigma$ of the weights (>= 0). The number `0` (the
      default) makes the weights homogeneous: no noise is drawn and the native CPU kernels and
      the fused engine apply. Pass an array (even `jnp.array(0.0)`) to differentiate with
      respect to $\sigma$.
    - `max_active`: active-row buffer of the pure-JAX `event_matvec` (default as the other
      formats).
    """

    key_words: UInt[Array, "2"]
    counts: Int[Array, " n_pre"] | None
    weight: Float[Array, ""]
    weight_std: Float[Array, ""] | None
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
        for name, n in (("n_pre", n_pre), ("n_post", n_post)):
            if n >= 2**31:
                raise ValueError(f"`{name}` must be below 2**31; got {n}.")
        if (degree is None) == (probability is None):
            raise ValueError("give exactly one of `degree` and `probability`.")
        require_nonnegative("weight_std", weight_std)
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
        self.key_words = _key_words(key)
        if probability is None:
            self.counts = None
        else:
            drawn = jr.binomial(jr.fold_in(key, 1), n_post, probability, shape=(n_pre,))
            self.counts = jnp.minimum(drawn, self.max_row_length).astype(jnp.int32)
        self.weight = jnp.asarray(weight, jnp.result_type(float))  # float32 unless x64 is on
        homogeneous = not eqx.is_array(weight_std) and float(weight_std) == 0.0
        self.weight_std = None if homogeneous else jnp.asarray(weight_std, self.weight.dtype)
        self.max_active = default_max_active(n_pre) if max_active is None else max_active

    @property
    def homogeneous(self) -> bool:
        """Whether every synapse has the weight `weight` (no noise)."""
        return self.weight_std is None

    def row_counts(self, rows: Int[Array, " m"]) -> Int[Array, " m"]:
        """Synapse counts $K_i$ of presynaptic neurons `rows`."""
        if self.counts is None:
            return jnp.full(rows.shape, self.degree, jnp.int32)
        return self.counts[rows]

    def counts_operand(self) -> Int[Array, " c"]:
        """Row counts as the native kernels take them: `(n_pre,)`, or `(1,)` for a fixed degree."""
        if self.counts is None:
            return jnp.full((1,), self.degree, jnp.int32)
        return self.counts

    def targets(self, rows: Int[Array, " m"]) -> Int[Array, "m L"]:
        """Targets of presynaptic neurons `rows`, shape `(m, max_row_length)`; slots beyond a
        row's synapse count hold `n_post` (no synapse)."""
        rows = jnp.asarray(rows, jnp.int32)
        slot = jnp.arange(self.max_row_length, dtype=jnp.int32)
        real = slot[None, :] < self.row_counts(rows)[:, None]
        words = _slot_words(self.key_words, rows, self.max_row_length, np.uint32(0))
        return jnp.where(real, _mul_high(words, self.n_post).astype(jnp.int32), self.n_post)

    def noise(self, rows: Int[Array, " m"]) -> Float[Array, "m L"]:
        r"""Standard normal weight noise $\xi$ of the slots of `rows` (heterogeneous weights)."""
        rows = jnp.asarray(rows, jnp.int32)
        words = _slot_words(self.key_words, rows, self.max_row_length, _NOISE_COUNTER)
        return ndtri(((words >> 9).astype(self.weight.dtype) + 0.5) * 2.0**-23)

    def rows(self, rows: Int[Array, " m"]) -> tuple[Int[Array, "m L"], Float[Array, "m L"]]:
        """Targets (as `targets`) and weights of presynaptic neurons `rows`, each of shape
        `(m, max_row_length)`."""
        targets = self.targets(rows)
        weights = jnp.broadcast_to(self.weight, targets.shape)
        if not self.homogeneous:
            weights = weights + self.weight_std * self.noise(rows)
        return targets, weights


def _key_words(key) -> UInt[Array, "2"]:
    """The two Threefry key words of `key` (see the module docstring)."""
    if jax.dtypes.issubdtype(jnp.result_type(key), jax.dtypes.prng_key):
        data = jr.key_data(key)
        if data.shape == (2,) and data.dtype == jnp.uint32:
            return data
        return jr.bits(key, (2,), jnp.uint32)
    key = jnp.asarray(key)
    if key.shape != (2,) or key.dtype != jnp.uint32:
        raise TypeError(f"`key` must be a jax.random key; got shape {key.shape}, dtype {key.dtype}.")
    return key


def _slot_words(key_words, rows, length: int, counter_offset) -> UInt[Array, "m L"]:
    """Hash words of slots `0..length-1` of `rows`: slot 2q <- y0, slot 2q+1 <- y1 of
    Threefry(key; row, offset + q)."""
    m = rows.shape[0]
    pairs = (length + 1) // 2
    if m == 0 or pairs == 0:
        return jnp.zeros((m, length), jnp.uint32)
    row = jnp.broadcast_to(rows.astype(jnp.uint32)[:, None], (m, pairs))
    pair = jnp.broadcast_to(jnp.arange(pairs, dtype=jnp.uint32)[None, :] + counter_offset, (m, pairs))
    y0, y1 = threefry2x32_p.bind(key_words[0], key_words[1], row, pair)
    return jnp.stack([y0, y1], axis=-1).reshape(m, 2 * pairs)[:, :length]


def _mul_high(word: UInt[Array, "..."], n: int) -> UInt[Array, "..."]:
    r"""$\lfloor w n / 2^{32} \rfloor$ exactly, in uint32 arithmetic (16-bit limbs; no x64)."""
    a_hi, a_lo = word >> 16, word & 0xFFFF
    b_hi, b_lo = np.uint32(n >> 16), np.uint32(n & 0xFFFF)
    low = a_lo * b_lo
    mid1 = a_hi * b_lo + (low >> 16)  # < 2^32
    mid2 = a_lo * b_hi + (mid1 & 0xFFFF)  # < 2^32
    return a_hi * b_hi + (mid1 >> 16) + (mid2 >> 16)


@event_matvec.register(Procedural)
def _(conn: Procedural, spikes, *, kernel: str = "auto"):
    spikes = jnp.asarray(spikes)
    dtype = jnp.result_type(conn.weight, spikes)
    implementation = _select_kernel(kernel, dtype)
    if kernel == "native" and not conn.homogeneous:
        raise ValueError(
            "`kernel='native'` regenerates homogeneous procedural weights only "
            "(`weight_std=0`); use kernel='auto' or 'reference'."
        )
    native = implementation == "native" and conn.homogeneous and jax.default_backend() == "cpu"
    return _matvec((conn, spikes.astype(dtype)), native)


@eqx.filter_custom_vjp
def _matvec(conn_and_spikes, native: bool):
    conn, spikes = conn_and_spikes
    if native:
        weight = conn.weight.astype(spikes.dtype)
        counts = conn.counts_operand()
        return _native.procedural_event_matvec_call(conn.key_words, counts, weight, spikes, conn.n_post)
    return smallest_fitting(spikes, conn.max_active, _sparse, _exact, conn, spikes)


@_matvec.def_fwd
def _(perturbed, conn_and_spikes, native):
    return _matvec(conn_and_spikes, native), None


@_matvec.def_bwd
def _(residuals, g, perturbed, conn_and_spikes, native):
    r"""Over every row (O(synapses), as the other formats' VJPs): with
    $u_i = \sum_c g_{t_{ic}}$ and $v_i = \sum_c \xi_{ic} g_{t_{ic}}$,
    $\partial L/\partial s_i = w u_i + \sigma v_i$, $\partial L/\partial w = s \cdot u$,
    $\partial L/\partial \sigma = s \cdot v$."""
    conn, spikes = conn_and_spikes
    g = g.astype(spikes.dtype)
    if native:
        unit = _native.procedural_row_sums_call(
            conn.key_words, conn.counts_operand(), g, conn.n_pre
        )
        noise = None
    else:
        unit, noise = _row_sums(conn, g)
    d_spikes = conn.weight * unit if noise is None else conn.weight * unit + conn.weight_std * noise
    d_conn = eqx.tree_at(lambda c: c.weight, conn, jnp.sum(spikes * unit).astype(conn.weight.dtype))
    if noise is not None:
        d_std = jnp.sum(spikes * noise).astype(conn.weight.dtype)
        d_conn = eqx.tree_at(lambda c: c.weight_std, d_conn, d_std)
    d_conn = eqx.tree_at(lambda c: c.key_words, d_conn, None)
    if conn.counts is not None:
        d_conn = eqx.tree_at(lambda c: c.counts, d_conn, None)
    return d_conn, d_spikes.astype(spikes.dtype)


def _row_sums(conn: Procedural, g):
    r"""$u_i = \sum_c g_{t_{ic}}$ and (heterogeneous weights) $v_i = \sum_c \xi_{ic} g_{t_{ic}}$
    for every row, regenerated in blocks."""
    n_blocks = -(-conn.n_pre // _EXACT_BLOCK_ROWS)
    g_padded = jnp.concatenate([g, jnp.zeros((*g.shape[:-1], 1), g.dtype)], axis=-1)

    def block(b):  # target n_post (no synapse) reads the padding 0
        rows = jnp.minimum(b * _EXACT_BLOCK_ROWS + jnp.arange(_EXACT_BLOCK_ROWS), conn.n_pre - 1)
        seen = g_padded[..., conn.targets(rows)]  # (..., block, L)
        noise = None if conn.homogeneous else jnp.sum(_lead(conn.noise(rows), seen) * seen, axis=-1)
        return jnp.sum(seen, axis=-1), noise

    def rows_last(x):  # (blocks, ..., block) -> (..., n_pre)
        x = jnp.moveaxis(x, 0, -2)
        return x.reshape(*x.shape[:-2], -1)[..., : conn.n_pre]

    unit, noise = jax.lax.map(block, jnp.arange(n_blocks))
    return rows_last(unit), None if noise is None else rows_last(noise)


def _sparse(conn: Procedural, spikes, *, size):
    """Regenerate the (at most `size`) active rows and scatter them: one scatter-add."""
    rows, valid = active_rows(spikes, size)
    targets, weights = conn.rows(rows)
    targets = jnp.where(valid[:, None], targets, conn.n_post)
    row_spikes = spikes[..., rows][..., None]
    return _scatter_add(_zeros_out(conn, spikes), targets, row_spikes * _lead(weights, row_spikes))


def _exact(conn: Procedural, spikes):
    """Every row, in blocks, added in row order (the native kernels' summation order)."""
    n_blocks = -(-conn.n_pre // _EXACT_BLOCK_ROWS)

    def block(b, y):
        rows = b * _EXACT_BLOCK_ROWS + jnp.arange(_EXACT_BLOCK_ROWS, dtype=jnp.int32)
        real = rows < conn.n_pre
        rows = jnp.minimum(rows, conn.n_pre - 1)
        targets, weights = conn.rows(rows)
        targets = jnp.where(real[:, None], targets, conn.n_post)
        row_spikes = spikes[..., rows][..., None]
        return _scatter_add(y, targets, row_spikes * _lead(weights, row_spikes))

    return jax.lax.fori_loop(0, n_blocks, block, _zeros_out(conn, spikes))


def _zeros_out(conn: Procedural, spikes):
    return jnp.zeros((*spikes.shape[:-1], conn.n_post), spikes.dtype)


def _scatter_add(y, targets, values):
    """`y[..., targets] += values` (values broadcast to `y`'s batch + `targets.shape`)."""
    batch = y.shape[:-1]
    values = jnp.broadcast_to(values, (*batch, *targets.shape)).astype(y.dtype)
    return y.at[..., targets.ravel()].add(values.reshape(*batch, targets.size), mode="drop")


@active_count_exceeds_buffer.register(Procedural)
def _(conn: Procedural, spikes):
    return overflows(spikes, conn.max_active)


def _regenerated(conn: Procedural, weights: bool) -> np.ndarray:
    """Targets (or weights) of every row, shape `(n_pre, max_row_length)`, regenerated in blocks
    of rows (for small networks: the whole table is materialised)."""
    parts = []
    for start in range(0, conn.n_pre, _EXACT_BLOCK_ROWS):
        rows = jnp.arange(start, min(start + _EXACT_BLOCK_ROWS, conn.n_pre))
        parts.append(np.asarray(conn.rows(rows)[1] if weights else conn.targets(rows)))
    return np.concatenate(parts)


@stored_synapses.register(Procedural)
def _(conn: Procedural):
    targets = _regenerated(conn, weights=False)
    pre = np.broadcast_to(np.arange(conn.n_pre, dtype=np.int32)[:, None], targets.shape)
    return pre, targets.astype(np.int32, copy=False), targets < conn.n_post


@stored_weights.register(Procedural)
def _(conn: Procedural):
    return conn.weight if conn.homogeneous else _regenerated(conn, weights=True)


@to_dense.register(Procedural)
def _(conn: Procedural):
    rows = jnp.arange(conn.n_pre)
    targets, weights = conn.rows(rows)
    dense = jnp.zeros((conn.n_pre, conn.n_post + 1), weights.dtype)
    dense = dense.at[jnp.broadcast_to(rows[:, None], targets.shape), targets].add(weights)
    return dense[:, : conn.n_post]


@n_synapses.register(Procedural)
def _(conn: Procedural):
    if conn.counts is None:
        return conn.n_pre * conn.degree
    return int(np.sum(np.asarray(conn.counts), dtype=np.int64))


@scale_weights.register(Procedural)
def _(conn: Procedural, factor):
    conn = eqx.tree_at(lambda c: c.weight, conn, conn.weight * factor)
    if conn.homogeneous:
        return conn
    return eqx.tree_at(lambda c: c.weight_std, conn, conn.weight_std * factor)
