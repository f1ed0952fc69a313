r"""The event-driven operator: spikes through a connectivity format, in pure JAX.

$$y_j = \sum_{i:\, s_i \ne 0} s_i\, w_{ij},$$

i.e. `spikes @ W`, touching only the rows of presynaptic neurons with a nonzero entry. The sparse
formats (`CSR`, `ELL`) compact the active rows into a static buffer of `max_active` rows, gather
those rows and scatter-add them into the output: O(`max_active` x fan-out) work instead of
O(synapses); steps with few spikes use a smaller buffer (`max_active // 4`, `// 16`, ...).
When more than `max_active` rows are active the operator takes an exact path over all
synapses (`lax.switch`), so no event is ever dropped; `active_count_exceeds_buffer` reports
when that happens so a simulator can count such steps.

Gradients (`jax.custom_vjp`) reach both the weights and the spikes (surrogate gradients of
presynaptic neurons):
$\partial L/\partial s_i = \sum_j w_{ij} g_j$ and $\partial L/\partial w_{ij} = s_i g_j$, summed
over synapses for homogeneous (0-d) weights. The backward pass is O(synapses).

**Batched (matrix) form.** `spikes` may carry leading batch dimensions, `(..., n_pre)` ->
`(..., n_post)` (`event_matmat` is the same operator for a `(batch, n_pre)` matrix): the pure-JAX
formats compact the rows active in *any* batch element into one buffer and propagate every
element through it, so the buffer switch is decided once for the batch; the native kernel
scans each element's spikes. Prefer it to `jax.vmap(event_matvec)`, under which the switch
index is batched and every path runs (a select), except on the native kernel, where `vmap`
also becomes one batched call.
"""

import functools as ft

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from . import _native
from ._base import AbstractConnectivity
from ._compaction import active_rows, overflows, smallest_fitting
from .csr import CSR, _csr_rows, _row_slots
from .dense import Dense
from .ell import ELL

KERNELS = ("auto", "reference", "native", "pallas")
"""`kernel=` choices of `event_matvec`: `"auto"` (the native CPU kernel where it is built and the
platform is CPU, else the reference), `"reference"` (pure JAX, any backend: the ground truth),
`"native"` (like `"auto"`, but an error if the native library is missing), `"pallas"` (the Pallas
kernel of `brainsim/ops/pallas_event.py` for `CSR` and `ELL`: compiled with Triton on GPU, in
Pallas interpret mode elsewhere, which is slow and meant for testing; JAX >= 0.11 deprecates the
Pallas Triton backend, so compiling it for a GPU there emits JAX's `DeprecationWarning`, see
`pallas_event.TRITON_DEPRECATED`).

`"auto"` never picks `"pallas"`: on GPU it takes the reference, because the Pallas kernel has
not been measured to beat the XLA reference there (`benchmarks/gpu_event.py` measures it)."""

@ft.singledispatch
def event_matvec(
    conn: AbstractConnectivity, spikes: Float[Array, "*batch n_pre"], *, kernel: str = "auto"
) -> Float[Array, "*batch n_post"]:
    r"""Propagate presynaptic spikes: $y_j = \sum_i s_i w_{ij}$, i.e. `spikes @ to_dense(conn)`.

    O(active rows x fan-out) for `CSR` and `ELL` while at most `conn.max_active` entries of
    `spikes` are nonzero, exact (all synapses) beyond that; a matrix product for `Dense`.
    Differentiable in the weights and in `spikes` (reverse mode); works under `jit` and `vmap`.

    **Arguments:**
    - `conn`: a connectivity format (`Dense`, `CSR`, `ELL`).
    - `spikes`: presynaptic values, shape `(n_pre,)` or `(..., n_pre)` (a batch: see the module
      docstring): 0/1 spikes, or any float (graded inputs, surrogate spikes). Entries exactly 0
      are skipped.
    - `kernel`: `"auto"`, `"reference"`, `"native"` or `"pallas"` (see `KERNELS`). The native
      CPU kernel (C++ through `jax.ffi`) scans the spike vector once and propagates active rows,
      with no buffer; it gives the reference's result up to float summation order and shares its
      VJP. `"pallas"` (`CSR`, `ELL`) is a Pallas kernel: Triton on GPU, interpret mode on other
      backends; blocks of presynaptic rows, inactive rows skipped, atomic adds into the output,
      no buffer; same result up to summation order, same VJP. `"auto"` selects the native kernel
      on CPU and the reference on every other backend, GPU included (the Pallas kernel is not
      selected automatically until measured faster there). Both kernels cover float32 and
      float64; other dtypes take the reference. `Dense` always takes a matrix product.

    **Returns:** `y`, shape `(..., n_post)`, in the weights' unit (nS or pA), with the dtype of
    `weights` and `spikes` combined.
    """
    raise NotImplementedError(f"`event_matvec` has no rule for {type(conn).__name__}.")


@ft.singledispatch
def active_count_exceeds_buffer(
    conn: AbstractConnectivity, spikes: Float[Array, "*batch n_pre"]
) -> Bool[Array, ""]:
    """Whether `event_matvec(conn, spikes)` takes the exact slow path: more than
    `conn.max_active` presynaptic neurons with a nonzero spike (in any batch element). Always
    `False` for formats without a buffer (`Dense`).

    **Returns:** a boolean scalar (batched under `vmap`).
    """
    raise NotImplementedError(
        f"`active_count_exceeds_buffer` has no rule for {type(conn).__name__}."
    )


@active_count_exceeds_buffer.register(Dense)
def _(conn: Dense, spikes):
    return jnp.zeros((), bool)


@active_count_exceeds_buffer.register(CSR)
@active_count_exceeds_buffer.register(ELL)
def _(conn, spikes):
    return overflows(spikes, conn.max_active)


@event_matvec.register(Dense)
def _(conn: Dense, spikes, *, kernel: str = "auto"):
    _select_kernel(kernel, spikes.dtype)  # validates `kernel`; a dense product has no kernel
    return spikes @ conn.weights


@event_matvec.register(CSR)
def _(conn: CSR, spikes, *, kernel: str = "auto"):
    dtype = jnp.result_type(conn.weights, spikes)
    weights, spikes = conn.weights.astype(dtype), jnp.asarray(spikes, dtype)
    if conn.indices.shape[0] == 0:  # no synapses (static): nothing to gather from
        return jnp.zeros((*spikes.shape[:-1], conn.n_post), dtype)
    return _csr_matvec(
        conn.indptr,
        conn.indices,
        weights,
        spikes,
        conn.n_post,
        conn.max_active,
        conn.max_row_length,
        _select_kernel(kernel, dtype),
    )


@event_matvec.register(ELL)
def _(conn: ELL, spikes, *, kernel: str = "auto"):
    dtype = jnp.result_type(conn.weights, spikes)
    weights, spikes = conn.weights.astype(dtype), jnp.asarray(spikes, dtype)
    return _ell_matvec(
        conn.targets, weights, spikes, conn.n_post, conn.max_active, _select_kernel(kernel, dtype)
    )


def _select_kernel(kernel: str, dtype) -> str:
    """Which implementation `CSR`/`ELL` emit: `"reference"`, `"native"` (then used on CPU, the
    reference elsewhere) or `"pallas"`. Validates `kernel`."""
    if kernel not in KERNELS:
        raise ValueError(f"`kernel` must be one of {KERNELS}; got {kernel!r}.")
    if kernel == "reference" or jnp.dtype(dtype) not in (jnp.float32, jnp.float64):
        return "reference"
    if kernel == "pallas":
        return "pallas"
    if kernel == "native" and not _native.available():
        raise RuntimeError(
            f"`kernel='native'`: the native CPU kernels are unavailable "
            f"({_native.unavailable_reason()}); reinstall brainsim with a C++ compiler."
        )
    return "native" if _native.request() else "reference"


def _dispatch(implementation: str, native, pallas, reference, *operands):
    """Run the selected implementation on `operands`. `"native"` runs when computing on the CPU
    backend, else the reference. Decided when tracing, from `jax.default_backend()`: a
    `lax.platform_dependent` would keep both branches inside `lax.scan` bodies and compile the
    reference for nothing (0.5 s more compile time for the COBA network). `"pallas"` runs on any
    backend (interpret mode off GPU, decided in `pallas_event`)."""
    if implementation == "pallas":
        return _over_batch(pallas, *operands)
    if implementation == "native" and jax.default_backend() == "cpu":
        return native(*operands)
    return reference(*operands)


def _over_batch(kernel, *operands):
    """`kernel` (one spike vector, the last operand) mapped over the spikes' leading dims."""
    *structure, spikes = operands
    if spikes.ndim == 1:
        return kernel(*structure, spikes)
    flat = spikes.reshape(-1, spikes.shape[-1])
    out = jax.vmap(lambda s: kernel(*structure, s))(flat)
    return out.reshape(*spikes.shape[:-1], out.shape[-1])


def _pallas_event():
    from . import pallas_event  # imported when first used, as `kernel="pallas"` is opt-in

    return pallas_event


# -- CSR -----------------------------------------------------------------------------------------


def _csr_sparse(indptr, indices, weights, spikes, *, n_post, size, max_row_length):
    """Gather the active rows into a `(size, max_row_length)` buffer, one scatter-add."""
    rows, valid = active_rows(spikes, size)
    slot, in_row = _row_slots(indptr, rows, valid, max_row_length)
    post = jnp.where(in_row, indices[slot], n_post)  # n_post: dropped by the scatter
    row_spikes = spikes[..., rows][..., None]
    contributions = row_spikes * (weights if weights.ndim == 0 else _lead(weights[slot], row_spikes))
    return _scatter(post, contributions, n_post)


def _csr_all(indptr, indices, weights, spikes, *, n_post):
    """Exact path over every synapse (more active rows than the buffer holds)."""
    pre = _csr_rows(indptr, indices.shape[0])
    synapse_spikes = spikes[..., pre]
    return _scatter(indices, synapse_spikes * _lead(weights, synapse_spikes), n_post)


@ft.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7))
def _csr_matvec(indptr, indices, weights, spikes, n_post, max_active, max_row_length, impl):
    sparse = ft.partial(_csr_sparse, n_post=n_post, max_row_length=max_row_length)
    exact = ft.partial(_csr_all, n_post=n_post)
    reference = lambda *ops: smallest_fitting(ops[-1], max_active, sparse, exact, *ops)  # noqa: E731
    kernel = lambda *ops: _native.csr_event_matvec_call(*ops, n_post)  # noqa: E731
    pallas = lambda *ops: _pallas_event().csr_event_matvec(*ops, n_post, max_row_length)  # noqa: E731
    return _dispatch(impl, kernel, pallas, reference, indptr, indices, weights, spikes)


def _csr_matvec_fwd(indptr, indices, weights, spikes, n_post, max_active, max_row_length, impl):
    out = _csr_matvec(indptr, indices, weights, spikes, n_post, max_active, max_row_length, impl)
    return out, (indptr, indices, weights, spikes)


def _csr_matvec_bwd(n_post, max_active, max_row_length, impl, residuals, g):
    indptr, indices, weights, spikes = residuals
    n_pre = spikes.shape[-1]
    pre = _csr_rows(indptr, indices.shape[0])
    g_synapse = g[..., indices]  # cotangent seen by each synapse, (..., nnz)
    if weights.ndim == 0:  # homogeneous: never materialise a per-synapse weight
        row_sum = _row_segment_sum(g_synapse, pre, n_pre)
        return None, None, jnp.sum(spikes * row_sum), weights * row_sum
    d_spikes = _row_segment_sum(_lead(weights, g_synapse) * g_synapse, pre, n_pre)
    d_weights = _sum_batch(spikes[..., pre] * g_synapse, weights.ndim)
    return None, None, d_weights, d_spikes


_csr_matvec.defvjp(_csr_matvec_fwd, _csr_matvec_bwd)


def _row_segment_sum(values, pre, n_pre: int):
    """Per-row sums `(..., n_pre)` of per-synapse values `(..., nnz)` (rows `pre`, sorted)."""
    summed = jax.ops.segment_sum(jnp.moveaxis(values, -1, 0), pre, n_pre, indices_are_sorted=True)
    return jnp.moveaxis(summed, 0, -1)


def _lead(x, like):
    """`x` with leading size-1 axes up to `like`'s rank (explicit broadcasting over a batch)."""
    return x.reshape((1,) * (like.ndim - x.ndim) + x.shape)


def _sum_batch(values, rank: int):
    """Sum over the leading (batch) axes, keeping the trailing `rank` ones."""
    return jnp.sum(values, axis=tuple(range(values.ndim - rank)))


# -- ELL -----------------------------------------------------------------------------------------


def _ell_sparse(targets, weights, spikes, *, n_post, size):
    """Gather the active rows into a `(size, k)` buffer, one scatter-add."""
    rows, valid = active_rows(spikes, size)
    post = jnp.where(valid[:, None], targets[rows], n_post)  # n_post: dropped by the scatter
    row_spikes = spikes[..., rows][..., None]
    contributions = row_spikes * (weights if weights.ndim == 0 else _lead(weights[rows], row_spikes))
    return _scatter(post, contributions, n_post)


def _ell_all(targets, weights, spikes, *, n_post):
    """Exact path over every synapse (more active rows than the buffer holds)."""
    row_spikes = spikes[..., None]
    return _scatter(targets, row_spikes * _lead(weights, row_spikes), n_post)


@ft.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _ell_matvec(targets, weights, spikes, n_post, max_active, impl):
    sparse = ft.partial(_ell_sparse, n_post=n_post)
    exact = ft.partial(_ell_all, n_post=n_post)
    reference = lambda *ops: smallest_fitting(ops[-1], max_active, sparse, exact, *ops)  # noqa: E731
    kernel = lambda *ops: _native.ell_event_matvec_call(*ops, n_post)  # noqa: E731
    pallas = lambda *ops: _pallas_event().ell_event_matvec(*ops, n_post)  # noqa: E731
    return _dispatch(impl, kernel, pallas, reference, targets, weights, spikes)


def _ell_matvec_fwd(targets, weights, spikes, n_post, max_active, impl):
    out = _ell_matvec(targets, weights, spikes, n_post, max_active, impl)
    return out, (targets, weights, spikes)


def _ell_matvec_bwd(n_post, max_active, impl, residuals, g):
    targets, weights, spikes = residuals
    g_padded = jnp.concatenate([g, jnp.zeros((*g.shape[:-1], 1), g.dtype)], axis=-1)
    g_synapse = g_padded[..., targets]  # (..., n_pre, k); padding target n_post sees 0
    if weights.ndim == 0:
        row_sum = jnp.sum(g_synapse, axis=-1)
        return None, jnp.sum(spikes * row_sum), weights * row_sum
    d_weights = _sum_batch(spikes[..., None] * g_synapse, 2)
    return None, d_weights, jnp.sum(_lead(weights, g_synapse) * g_synapse, axis=-1)


_ell_matvec.defvjp(_ell_matvec_fwd, _ell_matvec_bwd)


def _scatter(
    post: Int[Array, "*synapses"], values: Float[Array, "..."], n_post: int
) -> Float[Array, "*batch n_post"]:
    """`y[..., post] += values` (values broadcast to `batch + post.shape`), with indices outside
    `[0, n_post)` dropped."""
    batch = values.shape[: max(values.ndim - post.ndim, 0)]
    values = jnp.broadcast_to(values, (*batch, *post.shape)).reshape(*batch, post.size)
    return jnp.zeros((*batch, n_post), values.dtype).at[..., post.ravel()].add(values, mode="drop")


def event_matmat(
    conn: AbstractConnectivity, spikes: Float[ArrayLike, "batch n_pre"], *, kernel: str = "auto"
) -> Float[Array, "batch n_post"]:
    r"""The matrix form of `event_matvec`: $Y = S W$ for a batch of spike vectors (rows of
    `spikes`), e.g. trials or samples of a minibatch.

    One buffer holds the presynaptic rows active in any batch element, so the cost is
    O(batch x union of active rows x fan-out) and the buffer switch is decided once; the
    native kernel propagates each row of `spikes` in one call. Same kernels, VJPs and errors
    as `event_matvec`.

    **Returns:** `Y`, shape `(batch, n_post)`.
    """
    if jnp.ndim(spikes) != 2:
        raise ValueError(f"`spikes` must have shape (batch, n_pre); got {jnp.shape(spikes)}.")
    return event_matvec(conn, spikes, kernel=kernel)


__all__ = ["KERNELS", "active_count_exceeds_buffer", "event_matmat", "event_matvec"]
