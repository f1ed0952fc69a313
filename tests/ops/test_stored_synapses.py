"""`stored_synapses` (every format's synapse slots on the host) and the default float dtype of
format weights under x64."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.ops import CSR, ELL, Dense, scale_weights, stored_synapses, stored_weights, to_coo, to_dense
from brainsim.ops.delayed import synapse_endpoints

N_PRE, N_POST = 12, 9


def _formats():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, N_PRE)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = rng.integers(0, N_POST, indptr[-1])
    dense = rng.normal(size=(N_PRE, N_POST)) * (rng.random((N_PRE, N_POST)) < 0.3)
    return {
        "csr": CSR(indptr, indices, rng.normal(size=indices.shape).astype(np.float32), N_POST),
        "ell": ELL(rng.integers(0, N_POST + 1, (N_PRE, 3)), 0.5, N_POST),
        "dense": Dense(dense.astype(np.float32)),
        "procedural": bs.Procedural(jr.key(1), N_PRE, N_POST, probability=0.3, weight_std=0.1),
    }


@pytest.mark.parametrize("fmt", ["csr", "ell", "dense", "procedural"])
def test_valid_slots_rebuild_the_weight_matrix(fmt):
    conn = _formats()[fmt]
    pre, post, valid = stored_synapses(conn)
    assert all(isinstance(a, np.ndarray) for a in (pre, post, valid))  # host arrays
    assert pre.dtype == post.dtype == np.int32 and valid.dtype == bool
    weights = np.broadcast_to(np.asarray(stored_weights(conn)), valid.shape)
    assert pre.shape == post.shape == valid.shape
    assert np.all(post[valid] < N_POST) and np.all((0 <= pre) & (pre < N_PRE))
    rebuilt = np.zeros((N_PRE, N_POST))
    np.add.at(rebuilt, (pre[valid], post[valid]), weights[valid])
    np.testing.assert_allclose(rebuilt, np.asarray(to_dense(conn)), rtol=1e-6, atol=1e-6)
    coo_pre, coo_post, coo_weight = to_coo(conn)
    np.testing.assert_array_equal(coo_pre, pre[valid])
    np.testing.assert_array_equal(coo_post, post[valid])
    np.testing.assert_array_equal(coo_weight, weights[valid])


def test_stored_layout_and_padding():
    conns = _formats()
    assert stored_synapses(conns["csr"])[2].shape == conns["csr"].indices.shape
    _, post, valid = stored_synapses(conns["ell"])
    targets = np.asarray(conns["ell"].targets)
    assert valid.shape == targets.shape
    np.testing.assert_array_equal(valid, targets < N_POST)
    np.testing.assert_array_equal(post, targets)  # padding keeps n_post


def test_synapse_endpoints_is_stored_synapses_without_the_mask():
    conn = _formats()["ell"]
    pre, post = synapse_endpoints(conn)
    expected_pre, expected_post, _ = stored_synapses(conn)
    np.testing.assert_array_equal(pre, expected_pre)
    np.testing.assert_array_equal(post, expected_post)
    with pytest.raises(NotImplementedError, match="supported for `CSR` and `ELL`"):
        synapse_endpoints(_formats()["dense"])


def test_unknown_format_has_no_rule():
    class Other(bs.ops.AbstractConnectivity):
        n_pre: int = 1
        n_post: int = 1

    with pytest.raises(NotImplementedError, match="`stored_synapses` has no rule for Other"):
        to_coo(Other())


def test_python_number_weights_use_the_default_float_dtype():
    def built():
        rules = [bs.FixedProbability(0.5, weight=2.0), bs.FixedOutDegree(2, weight=2), bs.AllToAll(2.0)]
        return [
            CSR(np.array([0, 1]), np.array([0]), 2.0, 1),
            ELL(np.zeros((1, 1), np.int32), 2.0, 1),
            *(rule.build(4, 4, key=jr.key(0)) for rule in rules),
        ]

    for conn in built():
        assert conn.weights.dtype == jnp.float32
        assert scale_weights(conn, 0.5).weights.dtype == jnp.float32
    with jax.enable_x64(True):
        for conn in built():
            assert conn.weights.dtype == jnp.float64
            scaled = scale_weights(conn, 1.0 / 3.0)
            assert scaled.weights.dtype == jnp.float64
            np.testing.assert_array_equal(np.asarray(scaled.weights), np.asarray(conn.weights) / 3.0)
        # An explicit float32 array stays float32.
        assert CSR(np.array([0, 1]), np.array([0]), np.float32(2.0), 1).weights.dtype == jnp.float32
