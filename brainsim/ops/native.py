r"""Event-driven propagation through native CPU kernels (`jax.ffi`), with a pure-JAX fallback.

Both operators compute

$$y_j = \sum_{i:\, s_i \ne 0} s_i\, w_{ij},$$

the product `spikes @ W` of a (possibly graded) spike vector with a sparse weight matrix stored
by presynaptic neuron, in O(n_pre / 16 + active rows x fan-out) on the CPU. Spikes that are
exactly zero are skipped; any other value (graded spikes, surrogate 0/1 floats) is multiplied in.

The forward pass is the native kernel on CPU when the compiled library is present, else a pure-JAX
scatter-add over all synapses (exact, O(synapses)); on other platforms the pure-JAX path is
always used. The first time the library is needed and missing, one `RuntimeWarning` says so.
The backward pass is pure JAX (`jax.custom_vjp`):
$\partial L/\partial s_i = \sum_j w_{ij} g_j$ (a gather over row $i$) and
$\partial L/\partial w_{ij} = s_i g_j$ per synapse, summed over all synapses for homogeneous
(0-d) weights. Forward-mode AD is not available (`custom_vjp`).

Batch with `jax.vmap`: the kernel loops over the batch with the connectivity shared.
"""

import functools as ft

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from . import _native

__all__ = ["csr_event_matvec_native", "ell_event_matvec_native"]


def _common_dtype(weights, spikes):
    dtype = jnp.result_type(weights, spikes)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    return dtype


def _use_native(dtype) -> bool:
    """Whether to emit the native kernel (CPU lowering) for this dtype; warns once if not."""
    if jnp.dtype(dtype) not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        return False
    return _native.request()


def _valid_targets(targets, n_post: int):
    """`(valid, safe)`: which targets are in [0, n_post), and targets clipped for gathers."""
    valid = (targets >= 0) & (targets < n_post)
    return valid, jnp.where(valid, targets, 0)


def _scatter_reference(targets, contributions, n_post: int):
    """`y[t] += c` over all synapses; targets outside [0, n_post) are dropped."""
    valid, safe = _valid_targets(targets, n_post)
    contributions = jnp.where(valid, contributions, jnp.zeros((), contributions.dtype))
    return jnp.zeros(n_post, contributions.dtype).at[safe.ravel()].add(contributions.ravel())


def _gather_post(g, targets, n_post: int):
    """`g[targets]`, with 0 for targets outside [0, n_post) (padding)."""
    valid, safe = _valid_targets(targets, n_post)
    return jnp.where(valid, g[safe], jnp.zeros((), g.dtype))


def _csr_rows(indptr, nnz: int):
    """Row (presynaptic neuron) of every stored synapse, shape `(nnz,)`."""
    starts = jnp.zeros(nnz, jnp.int32).at[indptr[1:-1]].add(1, mode="drop")
    return jnp.cumsum(starts, dtype=jnp.int32)


# ---------------------------------------------------------------------------------------------
# CSR
# ---------------------------------------------------------------------------------------------


def _csr_reference(indptr, indices, weights, spikes, n_post: int):
    rows = _csr_rows(indptr, indices.shape[0])
    return _scatter_reference(indices, spikes[rows] * weights, n_post)


def _csr_primal(indptr, indices, weights, spikes, n_post: int):
    if not _use_native(spikes.dtype):
        return _csr_reference(indptr, indices, weights, spikes, n_post)
    return jax.lax.platform_dependent(
        indptr,
        indices,
        weights,
        spikes,
        cpu=lambda *a: _native.csr_event_matvec_call(*a, n_post),
        default=lambda *a: _csr_reference(*a, n_post),
    )


@ft.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _csr_matvec(indptr, indices, weights, spikes, n_post: int):
    return _csr_primal(indptr, indices, weights, spikes, n_post)


def _csr_matvec_fwd(indptr, indices, weights, spikes, n_post: int):
    out = _csr_primal(indptr, indices, weights, spikes, n_post)
    return out, (indptr, indices, weights, spikes)


def _csr_matvec_bwd(n_post: int, residuals, g):
    indptr, indices, weights, spikes = residuals
    rows = _csr_rows(indptr, indices.shape[0])
    g_syn = _gather_post(g, indices, n_post)  # cotangent seen by each synapse, (nnz,)
    d_spikes = jax.ops.segment_sum(weights * g_syn, rows, num_segments=spikes.shape[0])
    d_weights = spikes[rows] * g_syn
    if weights.ndim == 0:
        d_weights = jnp.sum(d_weights)
    return None, None, d_weights.astype(weights.dtype), d_spikes.astype(spikes.dtype)


_csr_matvec.defvjp(_csr_matvec_fwd, _csr_matvec_bwd)


def csr_event_matvec_native(
    indptr: Int[ArrayLike, " n_ptr"],
    indices: Int[ArrayLike, " nnz"],
    weights: Float[ArrayLike, ""] | Float[ArrayLike, " nnz"],
    spikes: Float[ArrayLike, " n_pre"] | Bool[ArrayLike, " n_pre"],
    n_post: int,
) -> Float[Array, " {n_post}"]:
    r"""Event-driven $y_j = \sum_i s_i w_{ij}$ for CSR connectivity stored by presynaptic neuron.

    **Arguments:**
    - `indptr`: row pointer, shape `(n_pre + 1,)`, non-decreasing from 0 to `nnz`.
    - `indices`: postsynaptic neuron of each synapse, shape `(nnz,)`, in `[0, n_post)`
      (others are ignored).
    - `weights`: synaptic weights in the receiving synapse's unit (nS for COBA, pA for CUBA):
      shape `()` for homogeneous weights or `(nnz,)`.
    - `spikes`: presynaptic spikes, shape `(n_pre,)`; 0/1 or graded values (bool is cast).
    - `n_post`: number of postsynaptic neurons (static).

    **Returns:** `y`, shape `(n_post,)`, in the dtype of `weights` and `spikes` combined
    (float32 or float64 on the native path).

    Differentiable in `weights` and `spikes` (reverse mode); batch with `jax.vmap`.
    """
    dtype = _common_dtype(weights, spikes)
    return _csr_matvec(
        jnp.asarray(indptr, jnp.int32),
        jnp.asarray(indices, jnp.int32),
        jnp.asarray(weights, dtype),
        jnp.asarray(spikes, dtype),
        n_post,
    )


# ---------------------------------------------------------------------------------------------
# ELL (fixed out-degree)
# ---------------------------------------------------------------------------------------------


def _ell_reference(targets, weights, spikes, n_post: int):
    return _scatter_reference(targets, spikes[:, None] * weights, n_post)


def _ell_primal(targets, weights, spikes, n_post: int):
    if not _use_native(spikes.dtype):
        return _ell_reference(targets, weights, spikes, n_post)
    return jax.lax.platform_dependent(
        targets,
        weights,
        spikes,
        cpu=lambda *a: _native.ell_event_matvec_call(*a, n_post),
        default=lambda *a: _ell_reference(*a, n_post),
    )


@ft.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _ell_matvec(targets, weights, spikes, n_post: int):
    return _ell_primal(targets, weights, spikes, n_post)


def _ell_matvec_fwd(targets, weights, spikes, n_post: int):
    return _ell_primal(targets, weights, spikes, n_post), (targets, weights, spikes)


def _ell_matvec_bwd(n_post: int, residuals, g):
    targets, weights, spikes = residuals
    g_syn = _gather_post(g, targets, n_post)  # (n_pre, k); 0 on padding
    d_spikes = jnp.sum(weights * g_syn, axis=1)
    d_weights = spikes[:, None] * g_syn
    if weights.ndim == 0:
        d_weights = jnp.sum(d_weights)
    return None, d_weights.astype(weights.dtype), d_spikes.astype(spikes.dtype)


_ell_matvec.defvjp(_ell_matvec_fwd, _ell_matvec_bwd)


def ell_event_matvec_native(
    targets: Int[ArrayLike, "n_pre k"],
    weights: Float[ArrayLike, ""] | Float[ArrayLike, "n_pre k"],
    spikes: Float[ArrayLike, " n_pre"] | Bool[ArrayLike, " n_pre"],
    n_post: int,
) -> Float[Array, " {n_post}"]:
    r"""Event-driven $y_j = \sum_i s_i w_{ij}$ for fixed out-degree (ELL) connectivity.

    **Arguments:**
    - `targets`: postsynaptic neuron of each synapse, shape `(n_pre, k)`; the value `n_post`
      (or anything outside `[0, n_post)`) marks padding, "no synapse".
    - `weights`: synaptic weights in the receiving synapse's unit (nS for COBA, pA for CUBA):
      shape `()` for homogeneous weights or `(n_pre, k)`.
    - `spikes`: presynaptic spikes, shape `(n_pre,)`; 0/1 or graded values (bool is cast).
    - `n_post`: number of postsynaptic neurons (static).

    **Returns:** `y`, shape `(n_post,)`, in the dtype of `weights` and `spikes` combined
    (float32 or float64 on the native path).

    Differentiable in `weights` and `spikes` (reverse mode); batch with `jax.vmap`.
    """
    dtype = _common_dtype(weights, spikes)
    return _ell_matvec(
        jnp.asarray(targets, jnp.int32),
        jnp.asarray(weights, dtype),
        jnp.asarray(spikes, dtype),
        n_post,
    )
