"""Connectivity formats and their operations (brainsim/ops/formats.py) against NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainsim.ops import (
    CSR,
    ELL,
    Dense,
    default_max_active,
    event_matvec,
    n_synapses,
    scale_weights,
    to_coo,
    to_dense,
)

N_PRE, N_POST = 30, 17


def _csr_arrays(seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 7, N_PRE)
    counts[::5] = 0
    pre = np.repeat(np.arange(N_PRE), counts)
    post = rng.integers(0, N_POST, pre.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return indptr, pre, post, rng.normal(size=pre.shape).astype(np.float32)


def _ell_arrays(seed=0):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, N_POST + 1, (N_PRE, 4))  # N_POST is padding
    return targets, rng.normal(size=targets.shape).astype(np.float32)


def _dense_reference(pre, post, weight):
    dense = np.zeros((N_PRE, N_POST), np.float64)
    np.add.at(dense, (pre, post), np.broadcast_to(weight, pre.shape))
    return dense


@pytest.mark.parametrize("homogeneous", [True, False])
def test_csr_coo_dense_and_count(homogeneous):
    indptr, pre, post, weight = _csr_arrays()
    weight = 2.5 if homogeneous else weight
    conn = CSR(indptr.astype(np.int64), post, weight, N_POST)
    assert conn.indptr.dtype == conn.indices.dtype == jnp.int32
    assert conn.n_pre == N_PRE and conn.n_post == N_POST
    assert conn.max_row_length == np.diff(indptr).max()
    assert conn.weights.shape == (() if homogeneous else pre.shape)
    coo = to_coo(conn)
    np.testing.assert_array_equal(coo[0], pre)
    np.testing.assert_array_equal(coo[1], post)
    np.testing.assert_allclose(coo[2], np.broadcast_to(weight, pre.shape))
    np.testing.assert_allclose(to_dense(conn), _dense_reference(pre, post, weight), rtol=1e-6)
    assert n_synapses(conn) == pre.shape[0]


@pytest.mark.parametrize("homogeneous", [True, False])
def test_ell_coo_dense_and_count_skip_padding(homogeneous):
    targets, weight = _ell_arrays()
    weight = -1.5 if homogeneous else weight
    conn = ELL(targets, weight, N_POST)
    real = targets < N_POST
    pre = np.broadcast_to(np.arange(N_PRE)[:, None], targets.shape)[real]
    coo = to_coo(conn)
    np.testing.assert_array_equal(coo[0], pre)
    np.testing.assert_array_equal(coo[1], targets[real])
    np.testing.assert_allclose(coo[2], np.broadcast_to(weight, targets.shape)[real])
    reference = _dense_reference(pre, targets[real], np.broadcast_to(weight, targets.shape)[real])
    np.testing.assert_allclose(jax.jit(to_dense)(conn), reference, rtol=1e-6)
    assert n_synapses(conn) == int(real.sum())


def test_dense_counts_nonzero_weights_as_synapses():
    weights = np.zeros((N_PRE, N_POST), np.float32)
    weights[3, 4], weights[7, 0] = 1.0, -2.0
    conn = Dense(weights)
    assert (conn.n_pre, conn.n_post) == (N_PRE, N_POST)
    pre, post, w = to_coo(conn)
    np.testing.assert_array_equal(pre, [3, 7])
    np.testing.assert_array_equal(post, [4, 0])
    np.testing.assert_array_equal(w, [1.0, -2.0])
    assert n_synapses(conn) == 2
    np.testing.assert_array_equal(to_dense(conn), weights)


def test_homogeneous_csr_stores_four_bytes_per_synapse():
    indptr, _, post, _ = _csr_arrays()
    conn = CSR(indptr, post, 1.0, N_POST)
    nbytes = sum(leaf.nbytes for leaf in jax.tree.leaves(conn))
    assert nbytes == 4 * (post.shape[0] + N_PRE + 1) + 4


@pytest.mark.parametrize(("n_pre", "expected"), [(10, 10), (100, 64), (4000, 200), (10**6, 50000)])
def test_default_max_active(n_pre, expected):
    assert default_max_active(n_pre) == expected
    assert ELL(np.zeros((n_pre, 1), np.int32), 1.0, 1).max_active == expected


def _formats(dtype=np.float32):
    indptr, _, post, weight = _csr_arrays()
    targets, ell_weight = _ell_arrays()
    dense = np.random.default_rng(1).normal(size=(N_PRE, N_POST))
    weight, ell_weight, dense = weight.astype(dtype), ell_weight.astype(dtype), dense.astype(dtype)
    return {
        "csr-scalar": CSR(indptr, post, np.asarray(1.3, dtype), N_POST),
        "csr-array": CSR(indptr, post, weight, N_POST),
        "ell-array": ELL(targets, ell_weight, N_POST),
        "dense": Dense(dense),
    }


@pytest.mark.parametrize("fmt", ["csr-scalar", "csr-array", "ell-array", "dense"])
def test_weight_scale_gradient_matches_finite_differences(fmt):
    with jax.enable_x64(True):
        conn = _formats(np.float64)[fmt]
        spikes = jnp.asarray(np.random.default_rng(2).random(N_PRE) < 0.2, jnp.float64)
        target = jnp.linspace(-1.0, 1.0, N_POST)

        def loss(scale):
            y = event_matvec(scale_weights(conn, scale), spikes)
            return jnp.sum((y - target) ** 2)

        scale, h = 0.7, 1e-5
        numeric = (loss(scale + h) - loss(scale - h)) / (2 * h)
        np.testing.assert_allclose(jax.grad(loss)(scale), numeric, rtol=1e-6)
        np.testing.assert_allclose(
            to_dense(scale_weights(conn, 3.0)), 3.0 * to_dense(conn), rtol=1e-6
        )


def test_formats_are_pytrees_usable_as_jit_arguments():
    conn = _formats()["csr-array"]
    leaves, treedef = jax.tree.flatten(conn)
    assert len(leaves) == 3  # indptr, indices, weights; sizes are static
    doubled = jax.jit(lambda c: scale_weights(c, 2.0))(conn)
    np.testing.assert_allclose(doubled.weights, 2.0 * conn.weights)
    assert (doubled.max_active, doubled.max_row_length) == (conn.max_active, conn.max_row_length)


# -- validation ----------------------------------------------------------------------------------


def test_rejects_non_integer_indices():
    indptr, _, post, _ = _csr_arrays()
    with pytest.raises(TypeError, match="`indices`"):
        CSR(indptr, post.astype(np.float32), 1.0, N_POST)


def test_rejects_bad_indptr():
    indptr, _, post, _ = _csr_arrays()
    with pytest.raises(ValueError, match="`indptr`"):
        CSR(indptr + 1, post, 1.0, N_POST)
    with pytest.raises(ValueError, match="`indptr`"):
        CSR(indptr[::-1], post, 1.0, N_POST)


def test_rejects_indices_out_of_range():
    indptr, _, post, _ = _csr_arrays()
    with pytest.raises(ValueError, match="`indices` must be in"):
        CSR(indptr, post + N_POST, 1.0, N_POST)
    targets, _ = _ell_arrays()
    with pytest.raises(ValueError, match="`targets` must be in"):
        ELL(targets + 1, 1.0, N_POST)


def test_rejects_weights_of_the_wrong_shape_or_dtype():
    indptr, _, post, weight = _csr_arrays()
    with pytest.raises(ValueError, match="`weights`"):
        CSR(indptr, post, weight[:-1], N_POST)
    with pytest.raises(ValueError, match="`weights`"):
        ELL(_ell_arrays()[0], np.ones(3, np.float32), N_POST)
    with pytest.raises(TypeError, match="`weights`"):
        CSR(indptr, post, np.ones_like(post), N_POST)
    with pytest.raises(ValueError, match="`weights`"):
        Dense(np.ones(5, np.float32))


def test_rejects_bad_buffer_sizes():
    indptr, _, post, _ = _csr_arrays()
    with pytest.raises(ValueError, match="`max_active`"):
        CSR(indptr, post, 1.0, N_POST, max_active=N_PRE + 1)
    with pytest.raises(ValueError, match="`max_row_length`"):
        CSR(indptr, post, 1.0, N_POST, max_row_length=1)
    with pytest.raises(TypeError, match="max_active"):
        ELL(_ell_arrays()[0], 1.0, N_POST, max_active=2.5)


def test_traced_indptr_needs_max_row_length():
    indptr, _, post, _ = _csr_arrays()
    with pytest.raises(ValueError, match="`max_row_length` must be given"):
        jax.jit(lambda p: CSR(p, post, 1.0, N_POST).weights)(indptr)
    built = jax.jit(lambda p: CSR(p, post, 1.0, N_POST, max_row_length=9).weights)(indptr)
    assert built.shape == ()
