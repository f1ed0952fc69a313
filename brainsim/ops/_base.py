r"""The connectivity contract: `AbstractConnectivity` and the operations every format registers.

Every format stores the weight matrix $W \in \mathbb{R}^{n_\mathrm{pre} \times n_\mathrm{post}}$
with rows = presynaptic neurons, so a spike of neuron $i$ touches row $i$ only. Formats are pytrees
(`eqx.Module`): the arrays are leaves, sizes are static. Operations on formats (`stored_synapses`,
`stored_weights`, `to_coo`, `to_dense`, `n_synapses`, `scale_weights`, and `event_matvec` in
`brainsim/ops/event.py`) are `functools.singledispatch` functions registered per format, as
lineax does for its operators, so a new format plugs in without editing a base class: one file
per format (`dense.py`, `csr.py`, `ell.py`, `procedural.py`).

A format's *stored layout* is the shape of its per-synapse arrays: `(nnz,)` for `CSR`,
`(n_pre, k)` for `ELL`, `(n_pre, n_post)` for `Dense`, `(n_pre, max_row_length)` for
`Procedural`. Per-synapse delays and weights are stored in that layout; slots that hold no
synapse (`ELL` padding, zero `Dense` entries, unused `Procedural` slots) are marked by the
`valid` mask of `stored_synapses`.

Weights are in the unit of the receiving synapse (nS for conductance-based, pA for current-based
synapses). Index arrays are int32. A Python number as a weight becomes a scalar of the default
float dtype (`jnp.result_type(float)`: float32, float64 under x64).
"""

import functools as ft
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._validation import _concrete, require_floating

_INT32_MAX = np.iinfo(np.int32).max


class AbstractConnectivity(eqx.Module):
    """A weight matrix from `n_pre` presynaptic to `n_post` postsynaptic neurons."""

    n_pre: eqx.AbstractVar[int]
    n_post: eqx.AbstractVar[int]


def default_max_active(n_pre: int) -> int:
    r"""Default size of the active-row buffer: $\min(n_\mathrm{pre}, \max(64, \lceil 0.05\,
    n_\mathrm{pre} \rceil))$ rows, i.e. room for 5% of the population spiking in one step."""
    return min(n_pre, max(64, math.ceil(0.05 * n_pre)))


# -- operations on formats -----------------------------------------------------------------------


@ft.singledispatch
def stored_synapses(
    conn: AbstractConnectivity,
) -> tuple[Int[np.ndarray, "*stored"], Int[np.ndarray, "*stored"], Bool[np.ndarray, "*stored"]]:
    """Endpoints of every stored synapse slot, in the format's stored layout (see the module
    docstring), computed on the host in NumPy: O(synapses), nothing compiled.

    **Arguments:**
    - `conn`: a connectivity format with concrete (not traced) arrays.

    **Returns:** `(pre, post, valid)`, NumPy arrays of the stored layout's shape: `pre` and
    `post` (int32) are the presynaptic and postsynaptic neuron of each slot, `valid` (bool) says
    whether the slot is a synapse (`post` of an invalid slot is meaningless; `ELL` padding holds
    `n_post`). The arrays may be read-only views.
    """
    raise NotImplementedError(f"`stored_synapses` has no rule for {type(conn).__name__}.")


@ft.singledispatch
def stored_weights(conn: AbstractConnectivity) -> Float[ArrayLike, "*stored"]:
    """Weights in the stored layout: shape `()` (homogeneous, broadcast over every slot) or the
    stored layout's shape, in the receiving synapse's unit."""
    raise NotImplementedError(f"`stored_weights` has no rule for {type(conn).__name__}.")


@ft.singledispatch
def to_coo(
    conn: AbstractConnectivity,
) -> tuple[Int[np.ndarray, " nnz"], Int[np.ndarray, " nnz"], Float[np.ndarray, " nnz"]]:
    """Synapse list `(pre, post, weight)` as NumPy arrays, one entry per stored synapse.

    Built on `stored_synapses` and `stored_weights`, so a format that registers those two gets
    `to_coo` for free.

    **Arguments:**
    - `conn`: a connectivity format with concrete (not traced) arrays.

    **Returns:** `pre`, `post` (int32) and `weight` (per synapse, homogeneous weights broadcast),
    each of shape `(nnz,)`, ordered by `pre`. `ELL` padding is left out; for `Dense`, entries with
    weight exactly 0 are not synapses.
    """
    pre, post, valid = stored_synapses(conn)
    weights = np.broadcast_to(np.asarray(stored_weights(conn)), valid.shape)
    return pre[valid], post[valid], weights[valid]


@ft.singledispatch
def to_dense(conn: AbstractConnectivity) -> Float[Array, "n_pre n_post"]:
    r"""The weight matrix $W$, shape `(n_pre, n_post)`; duplicate pairs are summed.

    Differentiable in the weights and traceable (works under `jit`).
    """
    raise NotImplementedError(f"`to_dense` has no rule for {type(conn).__name__}.")


@ft.singledispatch
def n_synapses(conn: AbstractConnectivity) -> int:
    """Number of synapses (as `to_coo` counts them); needs concrete arrays unless the format
    registers a static count (`CSR`, fixed-degree `Procedural`)."""
    _, _, valid = stored_synapses(conn)
    return int(np.count_nonzero(valid))


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


def _scale_weights_field(conn, factor):
    """`scale_weights` for formats with a `weights` field."""
    if jnp.ndim(factor) != 0:
        raise ValueError(f"`factor` must be a scalar; got shape {jnp.shape(factor)}.")
    return eqx.tree_at(lambda c: c.weights, conn, conn.weights * factor)


# -- construction helpers ------------------------------------------------------------------------


def default_float_dtype() -> np.dtype:
    """The dtype of a Python float in JAX: float32, or float64 under x64 (compiles nothing)."""
    return np.dtype(jnp.result_type(float))


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
    """Weights as a floating array; a Python number becomes a scalar of the default float dtype."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return jax.device_put(np.asarray(value, default_float_dtype()))  # compiles nothing
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
