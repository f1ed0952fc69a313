r"""Event-driven per-synapse updates: change the weights of the synapses in the rows of active
presynaptic neurons, or in the columns of active postsynaptic neurons, touching only those.

Plasticity rules (STDP and its family) change a synapse only when one of its two neurons
spikes. A dense update over all synapses each step would cost O(synapses); these operators
cost O(active rows x row length) and O(active columns x column length), as `event_matvec` does
for delivery:

- `update_rows(conn, weights, pre, delta)`: for every stored synapse $(i, j)$ with
  $s^\mathrm{pre}_i \ne 0$, $w_{ij} \leftarrow \mathrm{clip}(w_{ij} + \Delta(w_{ij}, i, j,
  s^\mathrm{pre}_i), w_\min, w_\max)$.
- `update_columns(index, conn, weights, post, delta)`: the same for every stored synapse with
  $s^\mathrm{post}_j \ne 0$, through a `ColumnIndex` (the stored slots grouped by postsynaptic
  neuron, a CSC view of the layout built once on the host).

Both gather the active rows (columns) into the static buffers of `_compaction` (the smallest of
`max_active`, `max_active // 4`, ... that holds them) and take an exact all-synapse path when
more are active, so no update is ever dropped. `weights` is in the format's stored layout
(`(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`, `(n_pre, n_post)` for `Dense`), as plastic
projections keep it in the state. Every entry of a `Dense` matrix is a synapse (zeros included:
an all-to-all matrix whose weights may grow from 0); `ELL` padding is never touched.
Differentiable in `weights`, in what `delta` closes over and
in the spike values (reverse mode).
"""

import functools as ft
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ._base import AbstractConnectivity, default_max_active, stored_synapses
from ._compaction import active_rows, smallest_fitting
from .csr import CSR, _csr_rows, _row_slots
from .dense import Dense
from .ell import ELL

Delta = Callable[[Array, Array, Array, Array], Array]
"""`delta(w, pre, post, value) -> dw`: the change of each touched synapse, given its weight, its
presynaptic and postsynaptic neuron and the spike value that triggered it (same shapes)."""


class ColumnIndex(eqx.Module):
    """The stored synapse slots grouped by postsynaptic neuron: slots of column `j` are
    `slots[colptr[j]:colptr[j + 1]]` (flat positions in the stored layout, in row order).

    **Fields:**
    - `colptr`: int32, shape `(n_post + 1,)`.
    - `slots`: int32, shape `(n_valid,)`: one entry per stored synapse (padding excluded).
    - `max_column_length`: the largest in-degree (static).
    - `max_active`: columns in the active-column buffer (static); more active columns in one
      step take the exact all-synapse path.

    Memory: 4 bytes per synapse plus 4 per postsynaptic neuron.
    """

    colptr: Int[Array, " n_ptr"]
    slots: Int[Array, " n_valid"]
    max_column_length: int = eqx.field(static=True)
    max_active: int = eqx.field(static=True)


def column_index(conn: AbstractConnectivity) -> ColumnIndex:
    """Group the stored synapses of `conn` by postsynaptic neuron (host work, O(synapses), a
    stable counting sort: within a column, slots keep the stored order)."""
    _, post, valid = stored_synapses(conn)
    flat_post = np.asarray(post).reshape(-1)
    # every entry of a `Dense` matrix is a plastic synapse (zeros included), as in `update_rows`
    flat_valid = np.ones(flat_post.shape, bool) if isinstance(conn, Dense) else np.asarray(valid).reshape(-1)
    slots = np.flatnonzero(flat_valid).astype(np.int32)
    counts = np.bincount(flat_post[slots], minlength=conn.n_post)
    order = np.argsort(flat_post[slots], kind="stable")
    colptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return ColumnIndex(
        jnp.asarray(colptr),
        jnp.asarray(slots[order]),
        int(counts.max(initial=0)),
        default_max_active(conn.n_post),
    )


def update_rows(
    conn: AbstractConnectivity,
    weights: Float[Array, "*stored"],
    pre: Float[Array, " n_pre"],
    delta: Delta,
    w_min: float | Float[Array, ""],
    w_max: float | Float[Array, ""],
) -> Float[Array, "*stored"]:
    """`weights` with every synapse of each row `i` where `pre[i] != 0` moved by `delta` and
    clipped to `[w_min, w_max]`; O(active rows x longest row) while at most `conn.max_active`
    rows are active (`default_max_active(n_pre)` for `Dense`), exact over all synapses beyond."""
    flat = weights.reshape(-1)

    def sparse(flat, size):
        rows, valid = active_rows(pre, size)
        slots, touched = _row_slots_of(conn, rows, valid)
        source = jnp.broadcast_to(rows[:, None], slots.shape)
        return _apply(flat, slots, touched, source, _slot_post(conn, slots), pre[source], delta, w_min, w_max)

    def exact(flat):
        return _apply_to_all(conn, flat, lambda source, target: pre[source], delta, w_min, w_max)

    buffer = default_max_active(conn.n_pre) if isinstance(conn, Dense) else conn.max_active
    return smallest_fitting(pre, buffer, sparse, exact, flat).reshape(weights.shape)


def update_columns(
    index: ColumnIndex,
    conn: AbstractConnectivity,
    weights: Float[Array, "*stored"],
    post: Float[Array, " n_post"],
    delta: Delta,
    w_min: float | Float[Array, ""],
    w_max: float | Float[Array, ""],
) -> Float[Array, "*stored"]:
    """`weights` with every synapse of each column `j` where `post[j] != 0` moved by `delta`
    and clipped to `[w_min, w_max]`; O(active columns x largest in-degree) while at most
    `index.max_active` columns are active, exact over all synapses beyond."""
    flat = weights.reshape(-1)

    def sparse(flat, size):
        columns, valid = active_rows(post, size)
        start = index.colptr[columns]
        length = jnp.where(valid, index.colptr[columns + 1] - start, 0)
        offset = jnp.arange(index.max_column_length, dtype=jnp.int32)
        touched = offset[None, :] < length[:, None]
        position = jnp.where(touched, start[:, None] + offset[None, :], 0)
        slots = index.slots[jnp.minimum(position, max(index.slots.shape[0] - 1, 0))]
        target = jnp.broadcast_to(columns[:, None], slots.shape)
        return _apply(flat, slots, touched, _slot_pre(conn, slots), target, post[target], delta, w_min, w_max)

    def exact(flat):
        return _apply_to_all(conn, flat, lambda source, target: post[target], delta, w_min, w_max)

    if index.slots.shape[0] == 0:
        return weights
    return smallest_fitting(post, index.max_active, sparse, exact, flat).reshape(weights.shape)


def _apply_to_all(conn, flat, spike_of, delta, w_min, w_max):
    """The exact path: every stored synapse whose triggering spike `spike_of(pre, post)` is
    nonzero moves (O(synapses))."""
    source, target, valid = all_slots(conn)
    value = spike_of(source, target)
    slots = jnp.arange(flat.shape[0], dtype=jnp.int32)
    return _apply(flat, slots, valid & (value != 0), source, target, value, delta, w_min, w_max)


def _apply(flat, slots, touched, source, target, value, delta, w_min, w_max):
    """Move the touched slots by `delta` and clip; untouched slots are written nowhere.

    Every touched slot appears once (distinct rows or columns own distinct slots) and each
    untouched one is sent to its own out-of-range index, so the scatter may promise unique
    indices: ~5x faster on CPU than a scatter that must resolve duplicates."""
    old = flat[slots]
    new = jnp.clip(old + delta(old, source, target, value), w_min, w_max)
    nowhere = flat.shape[0] + jnp.arange(slots.size, dtype=jnp.int32).reshape(slots.shape)
    return flat.at[jnp.where(touched, slots, nowhere)].set(
        new.astype(flat.dtype), mode="drop", unique_indices=True
    )


# -- per-format slot geometry (traceable) ---------------------------------------------------------


@ft.singledispatch
def _row_slots_of(conn, rows, valid) -> tuple[Int[Array, "size length"], Bool[Array, "size length"]]:
    """Flat stored slots of the gathered rows, and which of them hold a synapse."""
    raise TypeError(
        f"`{type(conn).__name__}` connectivity has no per-synapse storage to update; use `CSR`, "
        "`ELL` or `Dense`."
    )


@_row_slots_of.register
def _(conn: CSR, rows, valid):
    return _row_slots(conn.indptr, rows, valid, conn.max_row_length)


@_row_slots_of.register
def _(conn: ELL, rows, valid):
    k = conn.targets.shape[1]
    slots = rows[:, None] * k + jnp.arange(k, dtype=jnp.int32)[None, :]
    return slots, valid[:, None] & (conn.targets[rows] < conn.n_post)


@_row_slots_of.register
def _(conn: Dense, rows, valid):
    slots = rows[:, None] * conn.n_post + jnp.arange(conn.n_post, dtype=jnp.int32)[None, :]
    return slots, jnp.broadcast_to(valid[:, None], slots.shape)


@ft.singledispatch
def _slot_post(conn, slots):
    raise TypeError(f"no slot geometry for `{type(conn).__name__}`.")


@_slot_post.register
def _(conn: CSR, slots):
    return conn.indices[slots]


@_slot_post.register
def _(conn: ELL, slots):
    return jnp.minimum(conn.targets.reshape(-1)[slots], conn.n_post - 1)


@_slot_post.register
def _(conn: Dense, slots):
    return slots % conn.n_post


@ft.singledispatch
def _slot_pre(conn, slots):
    raise TypeError(f"no slot geometry for `{type(conn).__name__}`.")


@_slot_pre.register
def _(conn: CSR, slots):
    return (jnp.searchsorted(conn.indptr, slots, side="right") - 1).astype(jnp.int32)


@_slot_pre.register
def _(conn: ELL, slots):
    return slots // conn.targets.shape[1]


@_slot_pre.register
def _(conn: Dense, slots):
    return slots // conn.n_post


@ft.singledispatch
def all_slots(conn) -> tuple[Int[Array, " slots"], Int[Array, " slots"], Bool[Array, " slots"]]:
    """`(pre, post, valid)` of every flat stored slot, traceable: for the exact path and for
    updates of every synapse at once (`valid` is false on `ELL` padding)."""
    raise TypeError(f"`{type(conn).__name__}` connectivity has no per-synapse storage to update.")


@all_slots.register
def _(conn: CSR):
    nnz = conn.indices.shape[0]
    return _csr_rows(conn.indptr, nnz), conn.indices, jnp.ones(nnz, bool)


@all_slots.register
def _(conn: ELL):
    targets = conn.targets.reshape(-1)
    pre = jnp.arange(targets.shape[0], dtype=jnp.int32) // conn.targets.shape[1]
    return pre, jnp.minimum(targets, conn.n_post - 1), targets < conn.n_post


@all_slots.register
def _(conn: Dense):
    slots = jnp.arange(conn.n_pre * conn.n_post, dtype=jnp.int32)
    return slots // conn.n_post, slots % conn.n_post, jnp.ones(slots.shape, bool)
