"""Tests of `brainsim/ops/procedural.py`: regenerated rows against their dense matrix,
statistics, determinism, gradients, O(1) memory."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs


def _conn(mode="degree", **kwargs):
    if mode == "degree":
        return bs.Procedural(jr.key(0), 300, 200, degree=20, weight=1.5, weight_std=0.3, **kwargs)
    return bs.Procedural(jr.key(0), 300, 200, probability=0.1, weight=1.5, **kwargs)


def _spikes(kind, n=300):
    rng = np.random.default_rng(1)
    if kind == "empty":
        return np.zeros(n, np.float32)
    if kind == "all":
        return np.ones(n, np.float32)
    if kind == "sparse":
        return (rng.random(n) < 0.05).astype(np.float32)
    return (rng.normal(size=n) * (rng.random(n) < 0.3)).astype(np.float32)


@pytest.mark.parametrize("kind", ["empty", "sparse", "all", "graded"])
@pytest.mark.parametrize("mode", ["degree", "probability"])
def test_event_matvec_equals_dense_product(mode, kind):
    conn = _conn(mode)
    spikes = _spikes(kind)
    expected = spikes.astype(np.float64) @ np.asarray(bs.ops.to_dense(conn), np.float64)
    np.testing.assert_allclose(bs.event_matvec(conn, spikes), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(jax.jit(bs.event_matvec)(conn, spikes), expected, rtol=1e-5, atol=1e-4)
    batch = np.stack([spikes, 2 * spikes])
    np.testing.assert_allclose(
        jax.vmap(bs.event_matvec, in_axes=(None, 0))(conn, batch)[1], 2 * expected, rtol=1e-5, atol=1e-4
    )
    assert bool(bs.ops.active_count_exceeds_buffer(conn, spikes)) == (
        np.count_nonzero(spikes) > conn.max_active
    )


def test_regeneration_is_identical_and_depends_on_the_key():
    a, b = bs.ops.to_coo(_conn()), bs.ops.to_coo(_conn())
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    other = bs.ops.to_coo(bs.Procedural(jr.key(1), 300, 200, degree=20, weight=1.5, weight_std=0.3))
    assert not np.array_equal(a[1], other[1])


def test_degree_is_exact_and_probability_counts_are_binomial():
    pre, _, _ = bs.ops.to_coo(bs.Procedural(jr.key(2), 3000, 500, degree=25))
    assert np.all(np.bincount(pre, minlength=3000) == 25)
    conn = bs.Procedural(jr.key(3), 4000, 1000, probability=0.05)
    pre, post, _ = bs.ops.to_coo(conn)
    counts = np.bincount(pre, minlength=4000)
    assert abs(counts.mean() - 50.0) < 0.5
    assert abs(counts.var() - 1000 * 0.05 * 0.95) < 5.0
    in_degree = np.bincount(post, minlength=1000)
    assert abs(in_degree.mean() - 200.0) < 2.0  # 4000 x 50 / 1000
    assert abs(in_degree.var() - 200.0) < 40.0  # targets uniform: about Poisson(200)
    assert bs.ops.n_synapses(conn) == len(pre)


def test_weight_distribution():
    _, _, w = bs.ops.to_coo(bs.Procedural(jr.key(4), 2000, 1000, degree=50, weight=2.0, weight_std=0.5))
    assert abs(w.mean() - 2.0) < 0.01 and abs(w.std() - 0.5) < 0.01


def test_gradients_match_finite_differences_and_dense():
    with jax.enable_x64(True):
        spikes = _spikes("graded").astype(np.float64)

        def f(scale, s):
            return jnp.sum(bs.event_matvec(bs.ops.scale_weights(_conn(), scale), jnp.asarray(s)) ** 2)

        check_grads(f, (1.3, spikes), order=1, modes=["rev"])
        g = np.random.default_rng(2).normal(size=200)
        d_spikes = jax.grad(lambda s: bs.event_matvec(_conn(), s) @ g)(jnp.asarray(spikes))
        np.testing.assert_allclose(d_spikes, np.asarray(bs.ops.to_dense(_conn())) @ g, rtol=1e-6)


def test_ten_million_neurons_in_constant_memory():
    conn = bs.Procedural(jr.key(5), 10_000_000, 10_000_000, degree=80, weight=0.5)
    leaves = jax.tree_util.tree_leaves(conn)
    assert sum(x.nbytes for x in leaves) < 1024
    rows = np.random.default_rng(3).choice(10_000_000, 100, replace=False)
    spikes = jnp.zeros(10_000_000, jnp.float32).at[rows].set(1.0)
    y = jax.jit(bs.event_matvec)(conn, spikes)
    assert y.shape == (10_000_000,) and bool(jnp.all(jnp.isfinite(y)))
    np.testing.assert_allclose(float(y.sum()), 100 * 80 * 0.5, rtol=1e-5)


def test_in_a_network():
    net = bs.Network(
        [bs.Population("E", 500, bs.LIF(e_leak=-45.0))],
        [
            bs.Projection(
                "E",
                "E",
                bs.Procedural(jr.key(6), 500, 500, degree=20, weight=0.5),
                bs.ExponentialSynapse(),
                bs.COBA(e_rev=0.0),
            )
        ],
    )
    result = bs.simulate(net, 50.0, key=jr.key(7))
    assert float(result.rates["E"]) > 0
    assert net.synapse_graph().n_synapses == 500 * 20


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of `degree` and `probability`"),
        ({"degree": 3, "probability": 0.1}, "exactly one"),
        ({"probability": 1.5}, "`probability` must be in"),
        ({"degree": 300}, "`degree` must be in"),
        ({"degree": -1}, "`degree` must be an integer >= 0"),
        ({"degree": 3, "weight_std": -1.0}, "`weight_std` must be >= 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.Procedural(jr.key(0), 100, 200, **kwargs)
