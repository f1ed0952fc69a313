r"""Connectivity formats: which presynaptic neuron reaches which postsynaptic one, how strongly.

Every format stores the weight matrix $W \in \mathbb{R}^{n_\mathrm{pre} \times n_\mathrm{post}}$
with rows = presynaptic neurons, so a spike of neuron $i$ touches row $i$ only. Formats are pytrees
(`eqx.Module`): the arrays are leaves, sizes are static. Operations on formats (`to_coo`,
`to_dense`, `n_synapses`, `scale_weights`, and `event_matvec` in `brainsim/ops/event.py`) are
`functools.singledispatch` functions registered per format, as lineax does for its operators, so a
new format plugs in without editing a base class.

Weights are in the unit of the receiving synapse (nS for conductance-based, pA for current-based
synapses). Index arrays are int32.
"""

import functools as ft
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._validation import require_floating

_INT32_MAX = np.iinfo(np.int32).max


class AbstractConnectivity(eqx.Module):
    """A weight matrix from `n_pre` presynaptic to `n_post` postsynaptic neurons."""

    n_pre: eqx.AbstractVar[int]
    n_post: eqx.AbstractVar[int]


def default_max_active(n_pre: int) -> int:
    r"""Default size of the active-row buffer: $\min(n_\mathrm{pre}, \max(64, \lceil 0.05\,
    n_\mathrm{pre} \rceil))$ rows, i.e. room for 5% of the population spiking in one step."""
    return min(n_pre, max(64, math.ceil(0.05 * n_pre)))


class Dense(AbstractConnectivity):
    """A full weight matrix; `event_matvec` is a plain matrix product.

    **Fields:**
    - `weights`: shape `(n_pre, n_post)`, in the receiving synapse's unit (nS or pA).
    """

    weights: Float[Array, "n_pre n_post"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        if self.weights.ndim != 2:
            raise ValueError(
                f"`weights` of `Dense` must be 2-dimensional (n_pre, n_post); got shape "
                f"{self.weights.shape}."
            )
        require_floating("weights", self.weights)

    @property
    def n_pre(self) -> int:
        return self.weights.shape[0]

    @property
    def n_post(self) -> int:
        return self.weights.shape[1]


class CSR(AbstractConnectivity):
    r"""Compressed sparse rows: presynaptic `i` projects to `indices[indptr[i]:indptr[i + 1]]`.

    Homogeneous weights are one 0-d array shared by all synapses, so a projection costs 4 bytes
    per synapse (its int32 index).

    **Fields:**
    - `indptr`: row pointer, int32, shape `(n_pre + 1,)`, non-decreasing from 0 to `nnz`.
    - `indices`: postsynaptic neuron of each synapse, int32, shape `(nnz,)`, in `[0, n_post)`.
      Duplicate pairs are allowed (their weights add).
    - `weights`: shape `()` (homogeneous) or `(nnz,)`, in the receiving synapse's unit (nS or pA).
      A Python number becomes a float32 scalar.
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


class ELL(AbstractConnectivity):
    r"""Fixed out-degree: presynaptic `i` projects to `targets[i]` with `weights[i]`.

    A target equal to `n_post` is padding ("no synapse") and contributes nothing, so rows with
    fewer than `k` synapses fit too.

    **Fields:**
    - `targets`: postsynaptic neurons, int32, shape `(n_pre, k)`, in `[0, n_post]`.
    - `weights`: shape `()` (homogeneous) or `(n_pre, k)`, in the receiving synapse's unit (nS
      or pA). A Python number becomes a float32 scalar.
    - `n_post`: number of postsynaptic neurons (static).
    - `max_active`: rows in `event_matvec`'s active-row buffer (static), in `[0, n_pre]`.
      Default `default_max_active(n_pre)`.
    """

    targets: Int[Array, "n_pre k"]
    weights: Float[Array, ""] | Float[Array, "n_pre k"]
    n_post: int = eqx.field(static=True)
    max_active: int = eqx.field(static=True)

    def __init__(
        self,
        targets: ArrayLike,
        weights: ArrayLike,
        n_post: int,
        *,
        max_active: int | None = None,
    ):
        self.targets = _as_index_array("targets", targets)
        self.weights = _as_weights(weights)
        self.n_post = _as_size("n_post", n_post)
        n_pre = self.targets.shape[0] if self.targets.ndim else 0
        self.max_active = default_max_active(n_pre) if max_active is None else max_active

    def __check_init__(self):
        if self.targets.ndim != 2:
            raise ValueError(
                f"`targets` must have shape (n_pre, k); got shape {self.targets.shape}."
            )
        if self.weights.shape not in ((), self.targets.shape):
            raise ValueError(
                f"`weights` must have shape () or {self.targets.shape} to match `targets`; got "
                f"shape {self.weights.shape}."
            )
        _check_max_active(self.max_active, self.n_pre)
        _check_targets("targets", self.targets, self.n_post, padding=True)

    @property
    def n_pre(self) -> int:
        return self.targets.shape[0]


# -- construction helpers ------------------------------------------------------------------------


def _concrete(x) -> np.ndarray | None:
    """`x` as a NumPy array, or `None` for a tracer (values unknown before run time)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def _as_index_array(name: str, value) -> Array:
    """An integer array as int32; raises if it is not integer or does not fit in int32."""
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        value = np.asarray(value)
        dtype = value.dtype
    if not np.issubdtype(dtype, np.integer):
        raise TypeError(f"`{name}` must have an integer dtype; got {dtype}.")
    concrete = _concrete(value)
    if (
        concrete is not None
        and concrete.size
        and (concrete.max() > _INT32_MAX or concrete.min() < -_INT32_MAX)
    ):
        raise ValueError(f"`{name}` must fit in int32; got max {concrete.max()}.")
    if concrete is None:
        return value.astype(jnp.int32)
    if isinstance(value, jax.Array) and value.dtype == jnp.int32:
        return value
    # `device_put` copies once and compiles nothing; `jnp.asarray` would compile a conversion per
    # shape and hold two copies at once.
    return jax.device_put(concrete.astype(np.int32, copy=False))


def _as_weights(value) -> Array:
    """Weights as a floating array; a Python number becomes a float32 scalar."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return jax.device_put(np.float32(value))
    if isinstance(value, np.ndarray | np.generic):
        value = jax.device_put(value)  # no compiled conversion (see `_as_index_array`)
    else:
        value = jnp.asarray(value)
    require_floating("weights", value)
    return value


def _as_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer >= 0; got {value!r}.")
    if value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0; got {value}.")
    return int(value)


def _check_max_active(max_active, n_pre: int) -> None:
    _as_size("max_active", max_active)
    if max_active > n_pre:
        raise ValueError(f"`max_active` must be in [0, n_pre = {n_pre}]; got {max_active}.")


def _check_targets(name: str, targets: Array, n_post: int, *, padding: bool) -> None:
    """Every index in `[0, n_post)` (`[0, n_post]` where `n_post` marks padding)."""
    concrete = _concrete(targets)
    if concrete is None or concrete.size == 0:
        return
    high = n_post + 1 if padding else n_post
    low_seen, high_seen = int(concrete.min()), int(concrete.max())
    if low_seen < 0 or high_seen >= high:
        upper = f"{n_post}] (n_post marks padding)" if padding else f"{n_post})"
        raise ValueError(
            f"`{name}` must be in [0, {upper}; got min {low_seen} and max {high_seen}."
        )


# -- operations on formats -----------------------------------------------------------------------


def _csr_rows(indptr: Int[Array, " n_ptr"], nnz: int) -> Int[Array, " nnz"]:
    """Presynaptic neuron of every stored CSR synapse, shape `(nnz,)`: a running count of the
    row starts. O(nnz); `associative_scan` is ~3x faster than `jnp.cumsum` on CPU."""
    starts = jnp.zeros(nnz, jnp.int32).at[indptr[1:-1]].add(1, mode="drop")
    return jax.lax.associative_scan(jnp.add, starts)


@ft.singledispatch
def to_coo(
    conn: AbstractConnectivity,
) -> tuple[Int[np.ndarray, " nnz"], Int[np.ndarray, " nnz"], Float[np.ndarray, " nnz"]]:
    """Synapse list `(pre, post, weight)` as NumPy arrays, one entry per stored synapse.

    **Arguments:**
    - `conn`: a connectivity format with concrete (not traced) arrays.

    **Returns:** `pre`, `post` (int32) and `weight` (per synapse, homogeneous weights broadcast),
    each of shape `(nnz,)`, ordered by `pre`. `ELL` padding is left out; for `Dense`, entries with
    weight exactly 0 are not synapses.
    """
    raise NotImplementedError(f"`to_coo` has no rule for {type(conn).__name__}.")


@to_coo.register(Dense)
def _(conn: Dense):
    weights = np.asarray(conn.weights)
    pre, post = np.nonzero(weights)
    return pre.astype(np.int32), post.astype(np.int32), weights[pre, post]


@to_coo.register(CSR)
def _(conn: CSR):
    indptr = np.asarray(conn.indptr)
    pre = np.repeat(np.arange(conn.n_pre, dtype=np.int32), np.diff(indptr))
    nnz = pre.shape[0]
    weights = np.asarray(conn.weights)
    weight = np.full(nnz, weights) if weights.ndim == 0 else weights.copy()
    return pre, np.asarray(conn.indices).copy(), weight


@to_coo.register(ELL)
def _(conn: ELL):
    targets = np.asarray(conn.targets)
    real = targets < conn.n_post
    pre = np.nonzero(real)[0].astype(np.int32)
    weights = np.broadcast_to(np.asarray(conn.weights), targets.shape)
    return pre, targets[real], weights[real]


@ft.singledispatch
def to_dense(conn: AbstractConnectivity) -> Float[Array, "n_pre n_post"]:
    r"""The weight matrix $W$, shape `(n_pre, n_post)`; duplicate pairs are summed.

    Differentiable in the weights and traceable (works under `jit`).
    """
    raise NotImplementedError(f"`to_dense` has no rule for {type(conn).__name__}.")


@to_dense.register(Dense)
def _(conn: Dense):
    return conn.weights


@to_dense.register(CSR)
def _(conn: CSR):
    nnz = conn.indices.shape[0]
    pre = _csr_rows(conn.indptr, nnz)
    weights = jnp.broadcast_to(conn.weights, (nnz,))
    dense = jnp.zeros((conn.n_pre, conn.n_post), conn.weights.dtype)
    return dense.at[pre, conn.indices].add(weights)


@to_dense.register(ELL)
def _(conn: ELL):
    pre = jnp.broadcast_to(jnp.arange(conn.n_pre)[:, None], conn.targets.shape)
    weights = jnp.broadcast_to(conn.weights, conn.targets.shape)
    dense = jnp.zeros((conn.n_pre, conn.n_post), conn.weights.dtype)
    return dense.at[pre, conn.targets].add(weights, mode="drop")  # padding column dropped


@ft.singledispatch
def n_synapses(conn: AbstractConnectivity) -> int:
    """Number of synapses (as `to_coo` counts them); needs concrete arrays for `ELL` and `Dense`."""
    raise NotImplementedError(f"`n_synapses` has no rule for {type(conn).__name__}.")


@n_synapses.register(Dense)
def _(conn: Dense):
    return int(np.count_nonzero(np.asarray(conn.weights)))


@n_synapses.register(CSR)
def _(conn: CSR):
    return conn.indices.shape[0]


@n_synapses.register(ELL)
def _(conn: ELL):
    return int(np.count_nonzero(np.asarray(conn.targets) < conn.n_post))


@ft.singledispatch
def scale_weights(
    conn: AbstractConnectivity, factor: float | Float[ArrayLike, ""]
) -> AbstractConnectivity:
    r"""The same connectivity with weights $c\,W$; differentiable in `factor` (e.g. `jax.grad`
    with respect to a global weight scale).

    **Arguments:**
    - `conn`: a connectivity format.
    - `factor`: scalar $c$ (dimensionless).

    **Returns:** a format of the same type and structure.
    """
    raise NotImplementedError(f"`scale_weights` has no rule for {type(conn).__name__}.")


@scale_weights.register(Dense)
@scale_weights.register(CSR)
@scale_weights.register(ELL)
def _(conn, factor):
    if jnp.ndim(factor) != 0:
        raise ValueError(f"`factor` must be a scalar; got shape {jnp.shape(factor)}.")
    return eqx.tree_at(lambda c: c.weights, conn, conn.weights * factor)


__all__ = [
    "CSR",
    "ELL",
    "AbstractConnectivity",
    "Dense",
    "default_max_active",
    "n_synapses",
    "scale_weights",
    "to_coo",
    "to_dense",
]
