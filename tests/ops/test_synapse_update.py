"""Event-driven per-synapse updates (`brainsim/ops/synapse_update.py`) against a dense NumPy
reference, on the sparse buffers and on the exact all-synapse path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainsim.ops import CSR, ELL, Dense, stored_synapses
from brainsim.ops.synapse_update import column_index, update_columns, update_rows

N_PRE, N_POST = 40, 30


def _case(fmt: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    mask = rng.random((N_PRE, N_POST)) < 0.2
    if fmt == "csr":
        indptr = np.concatenate([[0], np.cumsum(mask.sum(1))]).astype(np.int32)
        indices = np.nonzero(mask)[1].astype(np.int32)
        conn = CSR(indptr, indices, 1.0, N_POST, max_active=8)
    elif fmt == "ell":
        k = int(mask.sum(1).max())
        targets = np.full((N_PRE, k), N_POST, np.int32)
        for i in range(N_PRE):
            row = np.nonzero(mask[i])[0]
            targets[i, : len(row)] = row
        conn = ELL(targets, 1.0, N_POST, max_active=8)
    else:
        conn = Dense(jnp.asarray(mask, jnp.float32))
    pre, post, valid = stored_synapses(conn)
    valid = np.ones_like(valid) if fmt == "dense" else valid
    weights = rng.uniform(0.0, 1.0, np.shape(valid)).astype(np.float32)
    return conn, weights, np.asarray(pre), np.asarray(post), np.asarray(valid)


def _delta(w, pre, post, value):
    return 0.1 * value * (1.0 + pre.astype(w.dtype) - 0.5 * post.astype(w.dtype)) - 0.2 * w


def _reference(weights, pre, post, valid, spikes, along):
    value = spikes[pre] if along == "rows" else spikes[np.minimum(post, N_POST - 1)]
    touched = valid & (value != 0)
    moved = np.clip(weights + np.asarray(_delta(weights, pre, post, value)), 0.0, 1.5)
    return np.where(touched, moved, weights)


@pytest.mark.parametrize("fmt", ["csr", "ell", "dense"])
@pytest.mark.parametrize("n_active", [0, 3, 7, 25])  # 25 > max_active: the exact path
@pytest.mark.parametrize("along", ["rows", "columns"])
def test_matches_dense_reference(fmt, n_active, along):
    conn, weights, pre, post, valid = _case(fmt)
    n = N_PRE if along == "rows" else N_POST
    rng = np.random.default_rng(n_active)
    spikes = np.zeros(n, np.float32)
    spikes[rng.choice(n, n_active, replace=False)] = rng.uniform(0.5, 2.0, n_active)
    if along == "rows":
        got = jax.jit(lambda w, s: update_rows(conn, w, s, _delta, 0.0, 1.5))(weights, spikes)
    else:
        index = column_index(conn)
        if fmt != "dense":
            assert index.max_active == 64 or index.max_active == N_POST
        index = type(index)(index.colptr, index.slots, index.max_column_length, 8)
        got = jax.jit(lambda w, s: update_columns(index, conn, w, s, _delta, 0.0, 1.5))(weights, spikes)
    want = _reference(weights, pre, post, valid, spikes, along)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)


def test_column_index_groups_slots_by_postsynaptic_neuron():
    conn, _, _, post, valid = _case("csr")
    index = column_index(conn)
    colptr, slots = np.asarray(index.colptr), np.asarray(index.slots)
    assert colptr[-1] == valid.sum() and index.max_column_length == np.diff(colptr).max()
    for j in range(N_POST):
        column = slots[colptr[j] : colptr[j + 1]]
        assert np.all(post.reshape(-1)[column] == j) and np.all(np.diff(column) > 0)


def test_gradient_reaches_weights_and_rule_parameters():
    conn, weights, pre, post, valid = _case("csr")
    spikes = np.zeros(N_PRE, np.float32)
    spikes[[1, 5]] = 1.0

    def loss(w, rate):
        new = update_rows(conn, w, jnp.asarray(spikes), lambda w, i, j, s: rate * s, -10.0, 10.0)
        return jnp.sum(new**2)

    g_w, g_rate = jax.grad(loss, argnums=(0, 1))(jnp.asarray(weights), 0.3)
    touched = valid & (spikes[pre] != 0)
    np.testing.assert_allclose(np.asarray(g_w), 2 * np.where(touched, weights + 0.3, weights), rtol=1e-5)
    np.testing.assert_allclose(float(g_rate), 2 * np.sum((weights + 0.3)[touched]), rtol=1e-5)
