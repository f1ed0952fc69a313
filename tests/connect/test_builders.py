"""Connectivity rules (brainsim/connect/builders.py): degree statistics, exact degrees,
distinctness, determinism and every rejected request."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainsim.connect import (
    AllToAll,
    FixedInDegree,
    FixedOutDegree,
    FixedProbability,
    FromArrays,
    OneToOne,
)
from brainsim.ops import CSR, ELL, Dense, to_coo, to_dense

KEY = jax.random.key(0)


def _pairs(conn) -> tuple[np.ndarray, np.ndarray]:
    pre, post, _ = to_coo(conn)
    return pre.astype(np.int64), post.astype(np.int64)


def _assert_distinct_pairs(pre, post, n_post):
    assert np.unique(pre * n_post + post).shape[0] == pre.shape[0]


# -- FixedProbability ----------------------------------------------------------------------------


@pytest.mark.parametrize("allow_self", [True, False])
def test_fixed_probability_degree_statistics(allow_self):
    n, p = 2000, 0.05
    conn = FixedProbability(p, weight=0.5, allow_self_connections=allow_self).build(n, n, key=KEY)
    assert isinstance(conn, CSR) and conn.weights.shape == ()
    pre, post = _pairs(conn)
    _assert_distinct_pairs(pre, post, n)
    assert np.all(np.diff(pre * n + post) > 0)  # rows sorted, targets sorted within rows
    if not allow_self:
        assert not np.any(pre == post)
    m = n - (0 if allow_self else 1)  # candidates per row
    for degrees in (np.bincount(pre, minlength=n), np.bincount(post, minlength=n)):
        mean, var = m * p, m * p * (1 - p)
        assert abs(degrees.mean() - mean) < 5 * np.sqrt(var / n)  # 5 standard errors
        assert abs(degrees.var() / var - 1) < 5 * np.sqrt(
            2 / n
        )  # chi-square: sd of var ~ sqrt(2/n)


def test_fixed_probability_is_uniform_over_pairs():
    """Connections per 10 x 10 tile of the pair grid ~ Binomial(100 * 40 * 40, p)."""
    n, p = 400, 0.1
    pre, post = _pairs(FixedProbability(p, weight=1.0).build(n, n, key=KEY))
    tiles = np.bincount((pre // 40) * 10 + post // 40, minlength=100)
    expected = 1600 * p
    chi2 = np.sum((tiles - expected) ** 2 / (expected * (1 - p)))
    assert chi2 < 100 + 5 * np.sqrt(200)  # chi-square with ~100 degrees of freedom


def test_fixed_probability_extremes_and_rectangular():
    assert FixedProbability(0.0, weight=1.0).build(50, 70, key=KEY).indices.shape == (0,)
    full = FixedProbability(1.0, weight=2.0, allow_self_connections=False).build(50, 70, key=KEY)
    expected = 2.0 * (1 - np.eye(50, 70))
    np.testing.assert_array_equal(to_dense(full), expected)


def test_fixed_probability_max_active_is_passed_on():
    assert FixedProbability(0.1, weight=1.0, max_active=7).build(50, 50, key=KEY).max_active == 7


def test_coba_sized_build_completes():
    start = time.perf_counter()
    conn = FixedProbability(0.02, weight=6.0).build(4000, 4000, key=KEY)
    jax.block_until_ready(conn)
    elapsed = time.perf_counter() - start
    print(
        f"FixedProbability 4000 x 4000, p=0.02: {elapsed:.3f} s, {conn.indices.shape[0]} synapses"
    )
    mean, sd = 4000**2 * 0.02, np.sqrt(4000**2 * 0.02 * 0.98)
    assert abs(conn.indices.shape[0] - mean) < 6 * sd


# -- fixed degrees -------------------------------------------------------------------------------


@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize(("n_pre", "n_post", "k"), [(500, 300, 12), (40, 60, 35)])  # sparse, dense
def test_fixed_in_degree_is_exact_and_uniform(allow_self, n_pre, n_post, k):
    conn = FixedInDegree(k, weight=1.0, allow_self_connections=allow_self).build(
        n_pre, n_post, key=KEY
    )
    assert isinstance(conn, CSR) and conn.n_pre == n_pre and conn.n_post == n_post
    pre, post = _pairs(conn)
    np.testing.assert_array_equal(np.bincount(post, minlength=n_post), np.full(n_post, k))
    _assert_distinct_pairs(pre, post, n_post)
    if not allow_self:
        assert not np.any(pre == post)
    # Out-degree of each presynaptic neuron: a sum of independent Bernoulli(k / candidates).
    candidates = np.full(n_post, n_pre) - (0 if allow_self else (np.arange(n_post) < n_pre))
    prob = np.zeros(n_pre)
    for j in range(n_post):
        prob += k / candidates[j]
        if not allow_self and j < n_pre:
            prob[j] -= k / candidates[j]
    degrees = np.bincount(pre, minlength=n_pre)
    chi2 = np.sum((degrees - prob) ** 2 / prob)  # ~ chi-square(n_pre) (variance <= mean)
    assert chi2 < n_pre + 5 * np.sqrt(2 * n_pre)
    assert abs(degrees.sum() - prob.sum()) < 1e-6


@pytest.mark.parametrize("allow_self", [True, False])
@pytest.mark.parametrize(("n_pre", "n_post", "k"), [(300, 500, 12), (60, 40, 35)])
def test_fixed_out_degree_is_exact(allow_self, n_pre, n_post, k):
    conn = FixedOutDegree(k, weight=1.0, allow_self_connections=allow_self).build(
        n_pre, n_post, key=KEY
    )
    assert isinstance(conn, ELL) and conn.targets.shape == (n_pre, k)
    targets = np.asarray(conn.targets)
    assert np.all(np.diff(targets, axis=1) > 0)  # sorted and distinct per row
    assert targets.min() >= 0 and targets.max() < n_post
    if not allow_self:
        assert not np.any(targets == np.arange(n_pre)[:, None])
    in_degree = np.bincount(targets.ravel(), minlength=n_post)
    mean = n_pre * k / n_post
    assert abs(in_degree.mean() - mean) < 1e-9
    assert in_degree.var() < 2 * mean  # binomial-like spread, not all on a few targets


def test_one_to_one_and_all_to_all():
    np.testing.assert_array_equal(
        to_dense(OneToOne(weight=3.0).build(5, 5, key=KEY)), 3 * np.eye(5)
    )
    dense = AllToAll(weight=2.0).build(3, 4, key=KEY)
    assert isinstance(dense, Dense)
    np.testing.assert_array_equal(to_dense(dense), np.full((3, 4), 2.0))
    no_self = AllToAll(weight=2.0, allow_self_connections=False).build(3, 4, key=KEY)
    np.testing.assert_array_equal(to_dense(no_self), 2.0 * (1 - np.eye(3, 4)))


@pytest.mark.parametrize("heterogeneous", [False, True])
def test_from_arrays_matches_dense_reference(heterogeneous):
    rng = np.random.default_rng(0)
    pre, post = rng.integers(0, 9, 40), rng.integers(0, 7, 40)  # unsorted, with duplicates
    weight = rng.normal(size=40).astype(np.float32) if heterogeneous else 1.5
    conn = FromArrays(pre, post, weight).build(9, 7, key=KEY)
    reference = np.zeros((9, 7))
    np.add.at(reference, (pre, post), np.broadcast_to(weight, pre.shape))
    np.testing.assert_allclose(to_dense(conn), reference, rtol=1e-6)
    assert conn.weights.shape == ((40,) if heterogeneous else ())


# -- determinism ---------------------------------------------------------------------------------


RANDOM_RULES = [
    FixedProbability(0.1, weight=1.0),
    FixedInDegree(5, weight=1.0),
    FixedOutDegree(5, weight=1.0, allow_self_connections=False),
]


@pytest.mark.parametrize("rule", RANDOM_RULES, ids=lambda r: type(r).__name__)
def test_same_key_same_arrays_different_key_different(rule):
    first = jax.tree.leaves(rule.build(60, 80, key=jax.random.key(1)))
    again = jax.tree.leaves(rule.build(60, 80, key=jax.random.key(1)))
    other = jax.tree.leaves(rule.build(60, 80, key=jax.random.key(2)))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other, strict=True)
    )


# -- rejected requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_rejects_probability_outside_unit_interval(p):
    with pytest.raises(ValueError, match="`p` must be in"):
        FixedProbability(p, weight=1.0)


@pytest.mark.parametrize("rule", [FixedInDegree, FixedOutDegree])
def test_rejects_negative_degree(rule):
    with pytest.raises(ValueError, match="`k`"):
        rule(-1, weight=1.0)


@pytest.mark.parametrize("rule", [FixedInDegree, FixedOutDegree])
def test_rejects_non_integer_degree(rule):
    with pytest.raises(TypeError, match="k"):
        rule(2.5, weight=1.0)


@pytest.mark.parametrize("rule", [FixedInDegree, FixedOutDegree])
def test_rejects_degree_above_population(rule):
    with pytest.raises(ValueError, match="`k` must be <= 10"):
        rule(11, weight=1.0).build(10, 10, key=KEY)
    with pytest.raises(ValueError, match="`k` must be <= 9"):
        rule(10, weight=1.0, allow_self_connections=False).build(10, 10, key=KEY)


def test_rejects_one_to_one_between_different_sizes():
    with pytest.raises(ValueError, match="`n_pre` == `n_post`"):
        OneToOne(weight=1.0).build(3, 4, key=KEY)


def test_rejects_mismatched_from_arrays_lengths():
    with pytest.raises(ValueError, match="`post` must have the same length"):
        FromArrays(np.arange(3), np.arange(4), 1.0)
    with pytest.raises(ValueError, match="`weight`"):
        FromArrays(np.arange(3), np.arange(3), jnp.ones(4))


def test_rejects_from_arrays_indices_out_of_range():
    with pytest.raises(ValueError, match="`pre` must be in"):
        FromArrays(np.array([0, 5]), np.array([0, 1]), 1.0).build(5, 5, key=KEY)
    with pytest.raises(ValueError, match="`post` must be in"):
        FromArrays(np.array([0, 1]), np.array([0, -1]), 1.0).build(5, 5, key=KEY)


def test_rejects_array_weight_for_homogeneous_rules():
    with pytest.raises(ValueError, match="`weight` must be a scalar"):
        FixedProbability(0.1, weight=jnp.ones(3))


def test_rejects_bad_max_active():
    with pytest.raises(ValueError, match="`max_active`"):
        FixedInDegree(3, weight=1.0, max_active=0)
