r"""Backpropagation through time with bounded memory: a `lax.scan` in checkpointed chunks.

Reverse mode through a plain `jax.lax.scan` of $T$ steps stores the residuals of every step,
so memory grows like $T$. `checkpointed_scan(f, init, xs, checkpoint_every=c)` runs the same
steps as a scan over $T/c$ chunks, each chunk an inner scan of $c$ steps wrapped in
`jax.checkpoint`: the forward pass stores only the carry at chunk boundaries, and the backward
pass recomputes one chunk at a time, so memory grows like $T/c + c$ steps (minimal at
$c \approx \sqrt{T}$) for the price of one more forward pass. Work hoisted out of the time
loop (a layer's input projection) runs per chunk (`prologue`), so it too is held for one
chunk at a time; what remains linear in $T$ is the input sequence and the output itself. The
steps compute the same float operations, so the gradients are those of plain BPTT up to how
XLA fuses the recomputed chunks (equal to 1e-12 in float64; ~1e-6 relative in float32).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.tree_util as jtu

from .._validation import require_positive_int


def checkpointed_scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any,
    *,
    length: int | None = None,
    checkpoint_every: int | None = None,
    prologue: Callable[[Any], Any] | None = None,
) -> tuple[Any, Any]:
    """`jax.lax.scan(f, init, xs)`, with the backward pass rematerialised in chunks.

    **Arguments:**
    - `f`: the step, `(carry, x_t) -> (carry, y_t)`.
    - `init`: the initial carry.
    - `xs`: a pytree with a leading time axis of length `T` (or `None` with `length`).
    - `length`: `T` when `xs` is `None`.
    - `checkpoint_every`: chunk length `c` (steps), a positive int, or `None` for a plain
      scan. `c` need not divide `T`: the last `T mod c` steps run as one more (unchunked,
      checkpointed) scan.
    - `prologue`: a function of a block of `xs` (leading axis: its steps) applied before the
      steps of that block, e.g. the input projection of all its steps as one matrix product.
      Without checkpointing it runs once on all of `xs`; with it, once per chunk inside the
      checkpoint, so its `(chunk, ...)` result is recomputed in the backward pass instead of
      stored for all `T` steps.

    **Returns:** `(carry, ys)` exactly as `jax.lax.scan`: `ys` has a leading axis of length `T`.
    """
    leaves = jtu.tree_leaves(xs)
    n_steps = leaves[0].shape[0] if leaves else length
    if n_steps is None:
        raise ValueError("`checkpointed_scan` needs `xs` with a time axis or `length`.")
    prepare = (lambda x: x) if prologue is None else prologue
    if checkpoint_every is None or checkpoint_every >= n_steps:
        return jax.lax.scan(f, init, prepare(xs), length=n_steps)
    chunk = require_positive_int("checkpoint_every", checkpoint_every)
    n_chunks, rest = divmod(n_steps, chunk)

    @jax.checkpoint
    def run_chunk(carry, xs_chunk):
        return jax.lax.scan(f, carry, prepare(xs_chunk), length=chunk)

    def split(x):
        return x[: n_chunks * chunk].reshape((n_chunks, chunk) + x.shape[1:])

    carry, ys = jax.lax.scan(run_chunk, init, jtu.tree_map(split, xs), length=n_chunks)
    ys = jtu.tree_map(lambda y: y.reshape((n_chunks * chunk,) + y.shape[2:]), ys)
    if rest:
        tail = jtu.tree_map(lambda x: x[n_chunks * chunk :], xs)
        carry, ys_tail = jax.checkpoint(lambda c, x: jax.lax.scan(f, c, prepare(x), length=rest))(carry, tail)
        ys = jtu.tree_map(lambda a, b: jax.numpy.concatenate([a, b]), ys, ys_tail)
    return carry, ys


def backward_temp_bytes(fn: Callable, *args) -> int:
    """Temporary memory (bytes) of the compiled `fn(*args)` as XLA reports it
    (`compile().memory_analysis().temp_size_in_bytes`): what a training step needs beyond its
    arguments and outputs. Use it on a `jax.grad` to compare BPTT memory across `T`."""
    analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    return int(analysis.temp_size_in_bytes)
