"""`CSR`: compressed sparse rows, the general sparse format (any out-degree per row)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._validation import _concrete
from ._base import (
    AbstractConnectivity,
    _as_index_array,
    _as_size,
    _as_weights,
    _check_max_active,
    _check_targets,
    _scale_weights_field,
    default_max_active,
    n_synapses,
    scale_weights,
    stored_synapses,
    stored_weights,
    to_dense,
)


class CSR(AbstractConnectivity):
    r"""Compressed sparse rows: presynaptic `i` projects to `indices[indptr[i]:indptr[i + 1]]`.

    Homogeneous weights are one 0-d array shared by all synapses, so a projection costs 4 bytes
    per synapse (its int32 index).

    **Fields:**
    - `indptr`: row pointer, int32, shape `(n_pre + 1,)`, non-decreasing from 0 to `nnz`.
    - `indices`: postsynaptic neuron of each synapse, int32, shape `(nnz,)`, in `[0, n_post)`.
      Duplicate pairs are allowed (their weights add).
    - `weights`: shape `()` (homogeneous) or `(nnz,)`, in the receiving synapse's unit (nS or pA).
      A Python number becomes a scalar of the default float dtype (float32; float64 under x64).
    - `n_post`: number of postsynaptic neurons (static).
    - `max_active`: rows in `event_matvec`'s active-row buffer (static), in `[0, n_pre]`; more
      active rows in one call take the exact all-synapse path. Default `default_max_active(n_pre)`.
    - `max_row_length`: longest row (static), >= every `indptr[i + 1] - indptr[i]`; computed
      from `indptr` when not given (it must be given when `indptr` is traced).
    """

    indptr: Int[Array, " n_ptr"]
    indices: Int[Array, " nnz"]
    weights: Float[Array, ""] | Float[Array, " nnz"]
    n_post: int = eqx.field(static=True)
    max_active: int = eqx.field(static=True)
    max_row_length: int = eqx.field(static=True)

    def __init__(
        self,
        indptr: ArrayLike,
        indices: ArrayLike,
        weights: ArrayLike,
        n_post: int,
        *,
        max_active: int | None = None,
        max_row_length: int | None = None,
    ):
        self.indptr = _as_index_array("indptr", indptr)
        self.indices = _as_index_array("indices", indices)
        self.weights = _as_weights(weights)
        self.n_post = _as_size("n_post", n_post)
        n_pre = max(self.indptr.shape[0] - 1, 0)
        self.max_active = default_max_active(n_pre) if max_active is None else max_active
        if max_row_length is None:
            concrete = _concrete(self.indptr)
            if concrete is None:
                raise ValueError(
                    "`max_row_length` must be given when `indptr` is traced (under jit/vmap)."
                )
            max_row_length = int(np.diff(concrete).max(initial=0))
        self.max_row_length = max_row_length

    def __check_init__(self):
        if self.indptr.ndim != 1 or self.indptr.shape[0] < 1:
            raise ValueError(
                f"`indptr` must have shape (n_pre + 1,); got shape {self.indptr.shape}."
            )
        if self.indices.ndim != 1:
            raise ValueError(f"`indices` must have shape (nnz,); got shape {self.indices.shape}.")
        nnz = self.indices.shape[0]
        if self.weights.shape not in ((), (nnz,)):
            raise ValueError(
                f"`weights` must have shape () or ({nnz},) to match `indices`; got shape "
                f"{self.weights.shape}."
            )
        _check_max_active(self.max_active, self.n_pre)
        _as_size("max_row_length", self.max_row_length)
        indptr = _concrete(self.indptr)
        if indptr is not None:
            if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
                raise ValueError(
                    f"`indptr` must be non-decreasing from 0 to len(indices) = {nnz}; got first "
                    f"{indptr[0]}, last {indptr[-1]}."
                )
            longest = int(np.diff(indptr).max(initial=0))
            if longest > self.max_row_length:
                raise ValueError(
                    f"`max_row_length` must be >= the longest row ({longest}); got "
                    f"{self.max_row_length}."
                )
        _check_targets("indices", self.indices, self.n_post, padding=False)

    @property
    def n_pre(self) -> int:
        return self.indptr.shape[0] - 1


def _csr_rows(indptr: Int[Array, " n_ptr"], nnz: int) -> Int[Array, " nnz"]:
    """Presynaptic neuron of every stored CSR synapse, shape `(nnz,)`, traceable: a running
    count of the row starts. O(nnz); `associative_scan` is ~3x faster than `jnp.cumsum` on CPU
    inside a compiled program (eagerly it compiles one program per op and shape: use
    `stored_synapses` on the host)."""
    starts = jnp.zeros(nnz, jnp.int32).at[indptr[1:-1]].add(1, mode="drop")
    return jax.lax.associative_scan(jnp.add, starts)


def _row_slots(
    indptr: Int[Array, " n_ptr"],
    rows: Int[Array, " size"],
    valid: Bool[Array, " size"],
    max_row_length: int,
) -> tuple[Int[Array, "size max_row_length"], Bool[Array, "size max_row_length"]]:
    """Synapse slots of the gathered rows `rows` (from `active_rows`), padded to
    `max_row_length`: `(slot, in_row)`, with slot 0 where `in_row` is false."""
    start = indptr[rows]
    length = jnp.where(valid, indptr[rows + 1] - start, 0)
    offset = jnp.arange(max_row_length, dtype=jnp.int32)
    in_row = offset[None, :] < length[:, None]
    return jnp.where(in_row, start[:, None] + offset[None, :], 0), in_row


@stored_synapses.register(CSR)
def _(conn: CSR):
    indptr = np.asarray(conn.indptr)
    pre = np.repeat(np.arange(conn.n_pre, dtype=np.int32), np.diff(indptr))
    return pre, np.asarray(conn.indices), np.ones(pre.shape, bool)


@stored_weights.register(CSR)
def _(conn: CSR):
    return conn.weights


@to_dense.register(CSR)
def _(conn: CSR):
    nnz = conn.indices.shape[0]
    pre = _csr_rows(conn.indptr, nnz)
    weights = jnp.broadcast_to(conn.weights, (nnz,))
    dense = jnp.zeros((conn.n_pre, conn.n_post), conn.weights.dtype)
    return dense.at[pre, conn.indices].add(weights)


@n_synapses.register(CSR)
def _(conn: CSR):
    return conn.indices.shape[0]


scale_weights.register(CSR, _scale_weights_field)
