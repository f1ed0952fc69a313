r"""Pallas kernels behind `event_matvec(..., kernel="pallas")`: $y = s\,W$ for `CSR` and `ELL`.

**Formulation: row-blocked, skip inactive rows, atomic scatter.** Program `b` of a 1-D grid
owns presynaptic rows `[b * block_rows, (b + 1) * block_rows)`. It loads their spikes, gives every
row with a zero spike length 0, and loops over its rows' synapses in chunks of `chunk` columns,
`ceil(longest active row / chunk)` times: a block with no active row does no loop iteration and
touches nothing but its spikes. Each chunk gathers the targets (and weights) of the active rows
with masked loads, so inactive rows cost no memory traffic, and adds `s_i w_ij` into the output
with a masked atomic add (Triton `atomic_rmw fadd`). The output starts as an aliased zero buffer.
Like the native CPU kernel there is no active-row buffer and no overflow path: the result is
exact for any number of spikes, up to float summation order (atomics make it run-to-run
nondeterministic on GPU in the last bits).

Why not the alternatives:
- *post-major gather* (each program owns postsynaptic neurons and gathers over a transposed,
  fixed in-degree table) needs no atomics, but the formats store rows by presynaptic neuron, so
  it needs a transpose (an O(synapses) sort per call, or a second stored format) and it reads
  every synapse each step: O(synapses), not O(active rows x fan-out).
- *compact active rows first* (as the reference does) then one program per active row: needs
  `max_active` and an overflow path again, and the compaction is a separate XLA pass.
The row-blocked kernel uses only what Pallas lowers both to Triton and in interpret mode: a 1-D
grid, whole-array refs, gathers with integer index arrays (power-of-two shapes), masked loads,
a `fori_loop` with a dynamic trip count, and `pallas.triton.atomic_add`.

**Interpret mode** (any backend but GPU): the interpreter's discharge rule for `atomic_add`
does not support a mask and, with an index array, reads then *sets* (duplicate targets inside
one chunk would lose contributions). Programs run one after another there, so the kernel instead
adds a `.at[].add` scatter of the chunk into the whole output: a race-free read-modify-write
that sums duplicates. Everything else (blocking, skipping, gathers, masks) is the same code as on
GPU.

**Triton deprecation.** JAX 0.11 deprecated the Pallas Triton backend (in favour of Mosaic GPU,
or of Triton through `jax_triton`): from that version on, lowering this kernel for a GPU emits
JAX's `DeprecationWarning` ("The Pallas Triton backend is deprecated ...", deprecation id
`jax-pallas-triton`); `TRITON_DEPRECATED` says whether the installed JAX does. The kernel still
lowers and runs there. Interpret mode (CPU) is not affected. Lowering for a GPU on a machine
without one (`.lower(lowering_platforms=("cuda",))`): JAX 0.12 reads the target's compute
capability from the device and asks for an abstract one (`jax.sharding.use_abstract_mesh` of an
`AbstractMesh` with an `AbstractDevice`, as `tests/ops/test_pallas.py` does); JAX 0.10 assumed 9.0.

The VJPs are the reference's (`brainsim/ops/event.py`): this module computes forward values only.
"""

import functools as ft

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["TRITON_DEPRECATED", "csr_event_matvec", "ell_event_matvec"]

BLOCK_ROWS = 16
"""Presynaptic rows per program (a power of two)."""
MAX_CHUNK = 128
"""Most synapse columns per row handled in one loop iteration (a power of two)."""
TRITON_DEPRECATED = jax.__version_info__ >= (0, 11)
"""Whether the installed JAX deprecates the Pallas Triton backend (JAX >= 0.11): compiling the
kernel for a GPU then emits JAX's `DeprecationWarning` (see the module docstring)."""


def _next_power_of_2(n: int) -> int:
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


def _interpret() -> bool:
    """Interpret mode unless computing on a GPU (Triton)."""
    return jax.default_backend() != "gpu"


def _compiler_params(num_warps: int):
    """Triton compiler parameters (select the Triton backend on GPU; ignored in interpret mode)."""
    from jax.experimental.pallas import triton as pl_triton

    return pl_triton.CompilerParams(num_warps=num_warps, num_stages=1)


def _accumulate(out_ref, index, values, mask, *, interpret: bool):
    """`out_ref[index[mask]] += values[mask]`, duplicates summed; atomic across programs."""
    values = jnp.broadcast_to(values, index.shape)  # (rows, 1) for homogeneous weights
    if interpret:
        n = out_ref.shape[0]
        update = jnp.zeros(n, values.dtype).at[jnp.where(mask, index, n).ravel()]
        out_ref[...] += update.add(values.ravel(), mode="drop")
    else:
        from jax.experimental.pallas import triton as pl_triton

        pl_triton.atomic_add(out_ref, index, values, mask=mask)


def _masked_gather(ref, index, mask, other):
    """`ref[index]` where `mask`, else `other`; masked lanes read nothing (GPU) and use index 0."""
    from jax.experimental.pallas import triton as pl_triton

    return pl_triton.load(ref.at[jnp.where(mask, index, 0)], mask=mask, other=other)


def _block_spikes(spikes_ref, n_pre: int, block_rows: int):
    """Rows of this program, their spikes (0 beyond `n_pre`) and which are active."""
    from jax.experimental import pallas as pl

    rows = pl.program_id(0) * block_rows + lax.broadcasted_iota(jnp.int32, (block_rows,), 0)
    in_range = rows < n_pre
    spikes = _masked_gather(spikes_ref, rows, in_range, 0)
    return rows, spikes, spikes != 0


def _loop_count(longest, chunk: int):
    """Chunks of `chunk` columns covering `longest` (an int32 scalar >= 0)."""
    return lax.div(longest + (chunk - 1), jnp.int32(chunk))


def _csr_kernel(
    indptr_ref,
    indices_ref,
    weights_ref,
    spikes_ref,
    zeros_ref,
    out_ref,
    *,
    n_pre,
    homogeneous,
    block_rows,
    chunk,
    interpret,
):
    del zeros_ref  # aliased to `out_ref`: the output starts at zero
    rows, spikes, active = _block_spikes(spikes_ref, n_pre, block_rows)
    start = _masked_gather(indptr_ref, rows, active, 0)
    end = _masked_gather(indptr_ref, rows + 1, active, 0)
    length = jnp.where(active, end - start, 0)
    weight = weights_ref[0] if homogeneous else None
    shape = (block_rows, chunk)

    def body(c, carry):
        offset = c * chunk + lax.broadcasted_iota(jnp.int32, shape, 1)
        mask = offset < length[:, None]
        slot = start[:, None] + offset
        post = _masked_gather(indices_ref, slot, mask, 0)
        w = weight if homogeneous else _masked_gather(weights_ref, slot, mask, 0)
        _accumulate(out_ref, post, spikes[:, None] * w, mask, interpret=interpret)
        return carry

    lax.fori_loop(0, _loop_count(jnp.max(length), chunk), body, 0)


def _ell_kernel(
    targets_ref,
    weights_ref,
    spikes_ref,
    zeros_ref,
    out_ref,
    *,
    n_pre,
    n_post,
    k,
    homogeneous,
    block_rows,
    chunk,
    interpret,
):
    del zeros_ref  # aliased to `out_ref`: the output starts at zero
    rows, spikes, active = _block_spikes(spikes_ref, n_pre, block_rows)
    longest = jnp.where(jnp.max(active.astype(jnp.int32)) > 0, jnp.int32(k), jnp.int32(0))
    weight = weights_ref[0] if homogeneous else None
    shape = (block_rows, chunk)

    def body(c, carry):
        column = c * chunk + lax.broadcasted_iota(jnp.int32, shape, 1)
        in_row = active[:, None] & (column < k)
        slot = rows[:, None] * k + column  # flat index into the (n_pre * k,) table
        post = _masked_gather(targets_ref, slot, in_row, n_post)
        mask = in_row & (post < n_post)  # target n_post is padding
        w = weight if homogeneous else _masked_gather(weights_ref, slot, in_row, 0)
        _accumulate(out_ref, post, spikes[:, None] * w, mask, interpret=interpret)
        return carry

    lax.fori_loop(0, _loop_count(longest, chunk), body, 0)


def _sizes(row_length: int, block_rows: int | None, chunk: int | None) -> tuple[int, int]:
    chunk = min(_next_power_of_2(row_length), MAX_CHUNK) if chunk is None else chunk
    block_rows = BLOCK_ROWS if block_rows is None else block_rows
    for name, value in (("block_rows", block_rows), ("chunk", chunk)):
        if value < 1 or value & (value - 1):
            raise ValueError(f"`{name}` must be a power of two; got {value}.")
    return block_rows, chunk


def _call(kernel, operands, n_pre: int, n_post: int, dtype, block_rows: int, interpret):
    from jax.experimental import pallas as pl

    zeros = jnp.zeros(n_post, dtype)
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((n_post,), dtype),
        grid=(pl.cdiv(n_pre, block_rows),),
        input_output_aliases={len(operands): 0},
        interpret=interpret,
        compiler_params=None if interpret else _compiler_params(num_warps=4),
        name=kernel.func.__name__.strip("_"),
    )(*operands, zeros)


def csr_event_matvec(
    indptr,
    indices,
    weights,
    spikes,
    n_post: int,
    max_row_length: int,
    *,
    block_rows: int | None = None,
    chunk: int | None = None,
    interpret: bool | None = None,
):
    """`y = spikes @ W` for CSR `W` (forward only; `event_matvec` adds the reference's VJP).

    **Arguments:**
    - `indptr`, `indices`: int32 CSR structure, shapes `(n_pre + 1,)` and `(nnz,)`.
    - `weights`: shape `()` (homogeneous) or `(nnz,)`, the dtype of `spikes` (float32/float64).
    - `spikes`: shape `(n_pre,)`; zero entries are skipped.
    - `n_post`, `max_row_length`: static sizes (`max_row_length` >= every row's length).
    - `block_rows`, `chunk`: presynaptic rows per program and columns per loop iteration (powers
      of two; defaults `BLOCK_ROWS` and `min(next power of two >= max_row_length, MAX_CHUNK)`).
    - `interpret`: Pallas interpret mode; default: unless the default backend is GPU.

    **Returns:** `y`, shape `(n_post,)`, dtype of `spikes`.
    """
    n_pre, dtype = spikes.shape[0], spikes.dtype
    if n_pre == 0 or n_post == 0 or indices.shape[0] == 0 or max_row_length == 0:
        return jnp.zeros(n_post, dtype)
    block_rows, chunk = _sizes(max_row_length, block_rows, chunk)
    interpret = _interpret() if interpret is None else interpret
    homogeneous = weights.ndim == 0
    kernel = ft.partial(
        _csr_kernel,
        n_pre=n_pre,
        homogeneous=homogeneous,
        block_rows=block_rows,
        chunk=chunk,
        interpret=interpret,
    )
    operands = (indptr, indices, weights.reshape(1) if homogeneous else weights, spikes)
    return _call(kernel, operands, n_pre, n_post, dtype, block_rows, interpret)


def ell_event_matvec(
    targets,
    weights,
    spikes,
    n_post: int,
    *,
    block_rows: int | None = None,
    chunk: int | None = None,
    interpret: bool | None = None,
):
    """`y = spikes @ W` for fixed out-degree (ELL) `W` (forward only; see `csr_event_matvec`).

    `targets` is int32 `(n_pre, k)` (a target equal to `n_post` is padding); `weights` has shape
    `()` or `(n_pre, k)` and the dtype of `spikes`. Returns shape `(n_post,)`.
    """
    (n_pre, k), dtype = targets.shape, spikes.dtype
    if n_pre == 0 or n_post == 0 or k == 0:
        return jnp.zeros(n_post, dtype)
    block_rows, chunk = _sizes(k, block_rows, chunk)
    interpret = _interpret() if interpret is None else interpret
    homogeneous = weights.ndim == 0
    kernel = ft.partial(
        _ell_kernel,
        n_pre=n_pre,
        n_post=n_post,
        k=k,
        homogeneous=homogeneous,
        block_rows=block_rows,
        chunk=chunk,
        interpret=interpret,
    )
    flat_weights = weights.reshape(1) if homogeneous else weights.reshape(-1)
    operands = (targets.reshape(-1), flat_weights, spikes)
    return _call(kernel, operands, n_pre, n_post, dtype, block_rows, interpret)
