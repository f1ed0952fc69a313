r"""Event propagation with per-synapse delays into a postsynaptic ring buffer.

A spike of presynaptic neuron $i$ emitted at step $t$ reaches postsynaptic neuron $j$ through
synapse $(i, j)$ at step $t + d_{ij}$ ($d_{ij} \ge 1$ steps). Contributions wait in a ring
buffer $R$ of shape `(D, n_post)`, $D = \max d$: the spike adds $s_i w_{ij}$ to
$R[(t + d_{ij}) \bmod D,\ j]$, and step $t'$ consumes row $t' \bmod D$. Memory is
O(n_post x D), not O(synapses x D) (NEST and Brian2 buffer the same way).

Delays are stored like the format's synapses: `(nnz,)` for `CSR`, `(n_pre, k)` for `ELL`.
Work is O(active rows x fan-out), with the exact all-synapse path beyond the active-row buffer,
as in `event_matvec`; plain JAX scatters, so gradients reach weights and spikes by autodiff.
"""

import functools as ft

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._base import AbstractConnectivity, stored_synapses
from ._compaction import active_rows, smallest_fitting
from .csr import CSR, _csr_rows, _row_slots
from .ell import ELL


@ft.singledispatch
def event_scatter_delayed(
    conn: AbstractConnectivity,
    spikes: Float[Array, " n_pre"],
    delays: Int[Array, "..."],
    ring: Float[Array, "slots n_post"],
    step: Int[Array, ""],
) -> Float[Array, "slots n_post"]:
    r"""Add this step's spikes to the ring buffer: $R[(t + d_{ij}) \bmod D, j] \mathrel{+}= s_i w_{ij}$.

    **Arguments:**
    - `conn`: `CSR` or `ELL` connectivity.
    - `spikes`: presynaptic spikes emitted at step `step`, shape `(n_pre,)`.
    - `delays`: integer delays in steps, in `[1, D]`, shaped like the format's synapses.
    - `ring`: the buffer, shape `(D, n_post)`, in the weights' unit.
    - `step`: the current step index $t$ (int scalar).

    **Returns:** the updated ring buffer.
    """
    raise NotImplementedError(
        f"per-synapse delays are supported for `CSR` and `ELL`; got {type(conn).__name__}."
    )


@event_scatter_delayed.register(CSR)
def _(conn: CSR, spikes, delays, ring, step):
    dtype = ring.dtype
    weights, spikes = conn.weights.astype(dtype), spikes.astype(dtype)
    if conn.indices.shape[0] == 0:
        return ring

    def sparse(indptr, indices, weights, delays, spikes, *, size):
        rows, valid = active_rows(spikes, size)
        synapse, in_row = _row_slots(indptr, rows, valid, conn.max_row_length)
        post = jnp.where(in_row, indices[synapse], conn.n_post)  # n_post: dropped
        w = weights if weights.ndim == 0 else weights[synapse]
        contributions = jnp.broadcast_to(spikes[rows][:, None] * w, post.shape)
        return _add(ring, step, delays[synapse], post, contributions)

    def exact(indptr, indices, weights, delays, spikes):
        pre = _csr_rows(indptr, indices.shape[0])
        contributions = jnp.broadcast_to(spikes[pre] * weights, indices.shape)
        return _add(ring, step, delays, indices, contributions)

    operands = (conn.indptr, conn.indices, weights, delays, spikes)
    return smallest_fitting(spikes, conn.max_active, sparse, exact, *operands)


@event_scatter_delayed.register(ELL)
def _(conn: ELL, spikes, delays, ring, step):
    dtype = ring.dtype
    weights, spikes = conn.weights.astype(dtype), spikes.astype(dtype)

    def sparse(targets, weights, delays, spikes, *, size):
        rows, valid = active_rows(spikes, size)
        post = jnp.where(valid[:, None], targets[rows], conn.n_post)
        w = weights if weights.ndim == 0 else weights[rows]
        contributions = jnp.broadcast_to(spikes[rows][:, None] * w, post.shape)
        return _add(ring, step, delays[rows], post, contributions)

    def exact(targets, weights, delays, spikes):
        contributions = jnp.broadcast_to(spikes[:, None] * weights, targets.shape)
        return _add(ring, step, delays, targets, contributions)

    return smallest_fitting(spikes, conn.max_active, sparse, exact, conn.targets, weights, delays, spikes)


def _add(ring, step, delays, post, contributions):
    """`ring[(step + delay) % D, post] += contributions`; `post == n_post` is dropped."""
    slot = (step + delays) % ring.shape[0]
    return ring.at[slot.ravel(), post.ravel()].add(contributions.ravel(), mode="drop")


def synapse_endpoints(conn: AbstractConnectivity) -> tuple[Int[np.ndarray, "..."], Int[np.ndarray, "..."]]:
    """`(pre, post)` of every stored synapse slot, in the format's stored layout (padding
    included for `ELL`, where `post == n_post`). Kept for old imports: use `stored_synapses`,
    which also returns which slots are synapses."""
    if not isinstance(conn, CSR | ELL):
        raise NotImplementedError(
            f"per-synapse delays are supported for `CSR` and `ELL`; got {type(conn).__name__}."
        )
    pre, post, _ = stored_synapses(conn)
    return pre, post
