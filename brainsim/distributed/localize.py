r"""Per-device pieces of a network: postsynaptic columns of each connectivity, per-neuron
parameters of each model, for the neurons one device holds.

The partition is *postsynaptic*: device `d` keeps, of every projection, the synapses onto
its own neurons, from every presynaptic neuron (rows stay in global order), re-indexed to
its slots. Each postsynaptic sum then adds the same terms in the same order as on one
device (rows ascending, then slots within a row), which is what makes the spikes equal:
float addition is not associative, so the order is part of the result.

`post_columns` is a `functools.singledispatch` function over formats:
- `CSR`, `ELL` and homogeneous `Procedural` become an `ELL` per device (rows `n_pre`, width
  the longest local row over all devices; `Procedural` is regenerated on the host, so a
  device stores its synapses instead of a seed);
- `Dense` keeps its columns (zero columns for padding slots).
"""

import functools as ft

import equinox as eqx
import jax.tree_util as jtu
import numpy as np

from ..ops import CSR, ELL, AbstractConnectivity, Dense, Procedural, stored_synapses, stored_weights


@ft.singledispatch
def post_columns(conn: AbstractConnectivity, slots: np.ndarray) -> list[AbstractConnectivity]:
    """Per device, the synapses of `conn` onto the neurons in `slots` (`(D, m)` postsynaptic
    indices, `-1` for padding), as formats of identical structure (stackable).

    **Returns:** a list of `D` formats with `n_pre = conn.n_pre` and `n_post = m`.
    """
    raise TypeError(
        f"multi-device runs do not support `{type(conn).__name__}` connectivity; use `CSR`, "
        "`ELL`, `Dense` or `Procedural`."
    )


@post_columns.register(CSR)
@post_columns.register(ELL)
def _(conn, slots):
    pre, post, valid = stored_synapses(conn)
    return _as_local_ell(conn, pre, post, valid, np.asarray(stored_weights(conn)), slots)


@post_columns.register(Procedural)
def _(conn: Procedural, slots):
    if not conn.homogeneous:
        raise TypeError(
            "multi-device runs support `Procedural` connectivity with homogeneous weights only "
            "(`weight_std=0`): noisy weights regenerated on the host are not guaranteed to be "
            "bit-identical to those regenerated inside the event kernel."
        )
    pre, post, valid = stored_synapses(conn)
    return _as_local_ell(conn, pre, post, valid, np.asarray(conn.weight), slots)


@post_columns.register(Dense)
def _(conn: Dense, slots):
    weights = np.asarray(conn.weights)
    padded = np.concatenate([weights, np.zeros((weights.shape[0], 1), weights.dtype)], axis=1)
    return [Dense(padded[:, np.where(row < 0, weights.shape[1], row)]) for row in slots]


def _as_local_ell(conn, pre, post, valid, weights, slots) -> list[ELL]:
    """Per device, an `ELL` of the synapses onto its slots, in the stored (row, slot) order."""
    n_devices, m = slots.shape
    pre, post, valid = (np.asarray(x).reshape(-1) for x in (pre, post, valid))
    per_synapse = weights.ndim > 0
    flat_weights = np.broadcast_to(weights, valid.shape if per_synapse else ()).reshape(-1)
    device_of, local_of = _slot_lookup(slots, conn.n_post)
    tables, width = [], 1
    for d in range(n_devices):  # loop over devices (static structure)
        keep = valid & (device_of[np.where(valid, post, 0)] == d)
        rows = pre[keep]
        rank = np.arange(rows.size) - np.searchsorted(rows, rows, side="left")  # rows are sorted
        width = max(width, int(rank.max(initial=-1)) + 1)
        tables.append((rows, rank, local_of[post[keep]], flat_weights[keep] if per_synapse else None))
    out = []
    for rows, rank, targets, w in tables:
        table = np.full((conn.n_pre, width), m, np.int32)
        table[rows, rank] = targets
        if per_synapse:
            values = np.zeros((conn.n_pre, width), weights.dtype)
            values[rows, rank] = w
        else:
            values = weights
        out.append(ELL(table, values, m, max_active=conn.max_active))
    return out


def _slot_lookup(slots: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`(device, slot)` of each of the `n` neurons in `slots`."""
    device_of, local_of = np.empty(n, np.int64), np.empty(n, np.int64)
    d, k = np.nonzero(slots >= 0)
    device_of[slots[d, k]], local_of[slots[d, k]] = d, k
    return device_of, local_of


def per_neuron(module, take: np.ndarray, n: int, what: str):
    """`module` (a neuron, synapse or output model) with every per-neuron array (shape `(n,)`)
    gathered at `take` (the device's slots, padding mapped to a real neuron); scalars and
    `(1,)` arrays are shared and left as they are."""

    def leaf(x):
        if not eqx.is_array(x) and not isinstance(x, np.ndarray):
            return x
        shape = np.shape(x)
        if len(shape) == 0 or shape == (1,):
            return x
        if shape[0] == n:
            return np.asarray(x)[take]
        raise ValueError(
            f"{what}: parameter arrays must be scalars or have one entry per neuron ({n},); got "
            f"shape {shape}."
        )

    return jtu.tree_map(leaf, module)
