r"""The active-row compaction shared by every event operator (`event_matvec` for `CSR`, `ELL`
and `Procedural`; `event_scatter_delayed`).

A presynaptic row is *active* when its spike is nonzero (in any batch element). The operators
gather the active rows into a static buffer of `size` row indices (`active_rows`), pick the
smallest buffer that holds them (`smallest_fitting`: `max_active`, `max_active // 4`, ...), and
take an exact all-synapse path when more than `max_active` rows are active (`overflows`: the
flag a simulator counts).
"""

import functools as ft

import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float, Int

_BLOCK = 64  # spikes per block of the running count in `active_rows`


def active_mask(spikes: Float[ArrayLike, "*batch n"]) -> Bool[Array, " n"]:
    """Presynaptic neurons with a nonzero entry in any batch element."""
    return jnp.any(spikes != 0, axis=tuple(range(spikes.ndim - 1)))


def n_active(spikes: Float[ArrayLike, "*batch n"]) -> Int[Array, ""]:
    """Number of active rows (nonzero in any batch element), int32."""
    return jnp.sum(active_mask(spikes), dtype=jnp.int32)


def overflows(spikes: Float[ArrayLike, "*batch n"], max_active: int) -> Bool[Array, ""]:
    """Whether more than `max_active` rows are active, i.e. the exact all-synapse path runs."""
    return n_active(spikes) > max_active


def buffer_sizes(max_active: int) -> tuple[int, ...]:
    """Row-buffer sizes, ascending: `max_active`, `max_active // 4`, ... down to >= 8 rows."""
    sizes = [max_active]
    while sizes[-1] // 4 >= 8:
        sizes.append(sizes[-1] // 4)
    return tuple(reversed(sizes))


def smallest_fitting(spikes, max_active: int, sparse, exact, *operands):
    """`sparse(*operands, size=s)` with the smallest buffer size `s` that holds every active
    row, or `exact(*operands)` when more than `max_active` rows are active (`lax.switch`).

    Gathering and scattering cost in proportion to the buffer, so a step with few spikes pays
    for a small buffer, not for `max_active` rows.
    """
    sizes = buffer_sizes(max_active)
    branch = jnp.sum(n_active(spikes) > jnp.asarray(sizes, jnp.int32))  # len(sizes): overflow
    branches = [ft.partial(sparse, size=size) for size in sizes] + [exact]
    return lax.switch(branch, branches, *operands)


def active_rows(
    spikes: Float[Array, "*batch n"], size: int
) -> tuple[Int[Array, " size"], Bool[Array, " size"]]:
    """Indices of the first `size` active rows of `spikes` (in order) and which slots are real.

    Same result as `jnp.nonzero(active_mask(spikes), size=size)` (unused slots hold `n - 1`
    and are marked not real), about 3x faster on CPU: the running count is a small triangular
    matmul within blocks of 64 plus a cumsum over block totals, and slot `b` is found by binary
    search for the first running count > b.
    """
    n = spikes.shape[-1]
    n_blocks = -(-n // _BLOCK)
    mask = jnp.pad(active_mask(spikes).astype(jnp.float32), (0, n_blocks * _BLOCK - n))
    upper = jnp.triu(jnp.ones((_BLOCK, _BLOCK), jnp.float32))
    within = jnp.matmul(
        mask.reshape(n_blocks, _BLOCK), upper, precision=lax.Precision.HIGHEST
    ).astype(jnp.int32)  # inclusive count inside each block, exact (<= 64)
    totals = within[:, -1]
    before = jnp.cumsum(totals, dtype=jnp.int32) - totals
    running = (within + before[:, None]).reshape(-1)
    rows = jnp.searchsorted(running, jnp.arange(1, size + 1, dtype=jnp.int32), method="scan")
    valid = rows < n
    return jnp.minimum(rows, n - 1).astype(jnp.int32), valid
