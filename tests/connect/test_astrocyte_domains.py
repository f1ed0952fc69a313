"""`AstrocyteDomains` against NEST's `third_factor_bernoulli_with_pool` rule as documented
(pools: block and random; pairing of primary synapses), and the gap-junction neighbour tables."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
from brainsim.connect.astrocytes import AstrocyteDomains, grid_neighbours, ring_neighbours
from brainsim.ops import CSR, ELL, to_dense


def _dense(conn):
    return np.asarray(to_dense(conn))


def test_block_pools_of_one_share_an_astrocyte_per_block():
    """NEST, block, pool_size 1: the first N_T/N_A targets get the first astrocyte, and so on."""
    pools = AstrocyteDomains(3, pool_size=1, pool_type="block").pools(12)
    np.testing.assert_array_equal(pools[:, 0], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])


def test_block_pools_larger_than_one_are_consecutive_astrocytes():
    """NEST example (C): N_T = 3, N_A = 6, pool_size 2: target j gets astrocytes 2j and 2j + 1,
    and each astrocyte covers exactly one target."""
    pools = AstrocyteDomains(6, pool_size=2, pool_type="block").pools(3)
    np.testing.assert_array_equal(pools, [[0, 1], [2, 3], [4, 5]])
    assert np.array_equal(np.bincount(pools.ravel(), minlength=6), np.ones(6))


@pytest.mark.parametrize(
    "n_astrocytes, pool_size, n_neurons, match",
    [
        (3, 1, 10, r"multiple of `n_astrocytes` \(3\)"),
        (6, 2, 4, r"n_neurons x pool_size == `n_astrocytes`; got 4 x 2 != 6"),
    ],
)
def test_block_pools_reject_sizes_nest_rejects(n_astrocytes, pool_size, n_neurons, match):
    with pytest.raises(ValueError, match=match):
        AstrocyteDomains(n_astrocytes, pool_size=pool_size, pool_type="block").pools(n_neurons)


def test_random_pools_are_distinct_uniform_and_deterministic_in_the_key():
    """NEST, random: for each target, pool_size astrocytes drawn without replacement."""
    n_neurons, n_astro, size = 4000, 10, 3
    rule = AstrocyteDomains(n_astro, pool_size=size, pool_type="random")
    pools = rule.pools(n_neurons, key=jr.key(1))
    assert pools.shape == (n_neurons, size) and pools.dtype == np.int32
    assert np.all(np.diff(pools, axis=1) > 0)  # distinct (and sorted) within each pool
    assert pools.min() >= 0 and pools.max() < n_astro
    # every astrocyte is in a pool with probability size / n_astro: counts Binomial(4000, 0.3)
    counts = np.bincount(pools.ravel(), minlength=n_astro)
    expected, sd = n_neurons * size / n_astro, np.sqrt(n_neurons * 0.3 * 0.7)
    assert np.all(np.abs(counts - expected) < 5 * sd), counts
    # each of the C(10, 3) = 120 subsets equally likely: about 33 each
    subsets = np.unique(pools, axis=0, return_counts=True)[1]
    assert subsets.size == 120 and subsets.min() > 5
    np.testing.assert_array_equal(pools, rule.pools(n_neurons, key=jr.key(1)))
    assert not np.array_equal(pools, rule.pools(n_neurons, key=jr.key(2)))


def test_a_pool_of_every_astrocyte_is_nests_default():
    pools = AstrocyteDomains(4, pool_size=4, pool_type="random").pools(3, key=jr.key(0))
    np.testing.assert_array_equal(pools, np.tile(np.arange(4), (3, 1)))


@pytest.mark.parametrize("pool_type", ["block", "random"])
def test_both_directions_are_transposes_and_normalize_averages(pool_type):
    rule = AstrocyteDomains(4, pool_size=1, pool_type=pool_type, weight=2.0, normalize=True)
    key = jr.key(3)
    into = rule.build(20, 4, key=key)
    out = AstrocyteDomains(
        4, pool_size=1, pool_type=pool_type, weight=2.0, normalize=True, direction="to_neurons"
    )
    out = out.build(4, 20, key=key)
    assert isinstance(into, ELL) and isinstance(out, CSR)
    membership = np.zeros((20, 4))
    membership[np.arange(20), rule.pools(20, key=key)[:, 0]] = 1.0
    np.testing.assert_array_equal(_dense(into) > 0, membership > 0)
    np.testing.assert_array_equal(_dense(out) > 0, membership.T > 0)
    # normalize: every astrocyte receives the mean of its domain, every neuron that of its pool
    covered = membership.sum(axis=0) > 0
    np.testing.assert_allclose(_dense(into).sum(axis=0)[covered], 2.0, rtol=1e-6)
    np.testing.assert_allclose(_dense(out).sum(axis=0), 2.0, rtol=1e-6)


def test_domain_index_is_the_single_astrocyte_of_each_neuron():
    rule = AstrocyteDomains(5, pool_type="random")
    index = rule.domain_index(50, key=jr.key(0))
    np.testing.assert_array_equal(index, rule.pools(50, key=jr.key(0))[:, 0])
    with pytest.raises(ValueError, match="needs `pool_size=1`"):
        AstrocyteDomains(6, pool_size=2).domain_index(3)


@pytest.mark.parametrize("pool_type, pool_size", [("random", 2), ("block", 1)])
def test_tripartite_pairs_every_primary_synapse_with_an_astrocyte_of_its_targets_pool(pool_type, pool_size):
    """p_third_if_primary = 1: each primary synapse i -> j gets exactly one astrocyte a from j's
    pool, and the pair adds i -> a and a -> j."""
    n_s, n_t, n_a = 30, 20, 10
    primary = bs.FixedProbability(0.3, weight=1.0).build(n_s, n_t, key=jr.key(0))
    rule = AstrocyteDomains(n_a, pool_size=pool_size, pool_type=pool_type)
    key = jr.key(7)
    result = rule.tripartite(primary, key=key)
    pools = rule.pools(n_t, key=jr.split(key)[0])
    pre, post = np.repeat(np.arange(n_s), np.diff(np.asarray(primary.indptr))), np.asarray(primary.indices)
    a = result.synapse_astrocyte
    assert a.shape == post.shape and np.all(a < n_a)
    assert all(a[s] in pools[post[s]] for s in range(a.size))
    expected_in, expected_out = np.zeros((n_s, n_a)), np.zeros((n_a, n_t))
    np.add.at(expected_in, (pre, a), 1.0)
    np.add.at(expected_out, (a, post), 1.0)
    np.testing.assert_array_equal(_dense(result.to_astrocytes), expected_in)
    np.testing.assert_array_equal(_dense(result.to_neurons), expected_out)
    np.testing.assert_array_equal(rule.tripartite(primary, key=key).synapse_astrocyte, a)


def test_tripartite_pairs_a_fraction_p_third_if_primary():
    primary = bs.FixedProbability(0.5, weight=1.0).build(100, 100, key=jr.key(0))
    nnz = int(primary.indices.shape[0])
    rule = AstrocyteDomains(10, pool_type="random", pool_size=3, p_third_if_primary=0.3)
    result = rule.tripartite(primary, key=jr.key(1))
    paired = int(np.sum(result.synapse_astrocyte < 10))
    assert abs(paired - 0.3 * nnz) < 5 * np.sqrt(nnz * 0.3 * 0.7)
    assert int(result.to_astrocytes.indices.shape[0]) == paired == int(result.to_neurons.indices.shape[0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_astrocytes": 0}, ValueError, r"`n_astrocytes` must be an integer >= 1; got 0"),
        ({"n_astrocytes": 3, "pool_size": 4}, ValueError, r"`pool_size` must be in \[1, 3\]"),
        ({"n_astrocytes": 3, "pool_type": "grid"}, ValueError, r"`pool_type` must be 'block' or 'random'"),
        (
            {"n_astrocytes": 3, "p_third_if_primary": 1.5},
            ValueError,
            r"`p_third_if_primary` must be in \[0.0, 1.0\]",
        ),
        ({"n_astrocytes": 3, "p_third_if_primary": -0.1}, ValueError, r"`p_third_if_primary` must be in"),
        ({"n_astrocytes": 3, "direction": "up"}, ValueError, r"`direction` must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises((error, TypeError), match=match):
        AstrocyteDomains(**kwargs)


def test_astrocyte_population_must_match_n_astrocytes():
    with pytest.raises(
        ValueError, match=r"`n_post` \(the astrocyte population.*must equal `n_astrocytes` = 4; got 5"
    ):
        AstrocyteDomains(4).build(20, 5, key=jr.key(0))


def test_domains_deliver_glutamate_to_their_astrocyte_in_a_network():
    """Neurons 0-4 -> astrocyte 0, 5-9 -> astrocyte 1 (block): spikes of neuron 2 only reach
    astrocyte 0's synapse."""
    n_steps = 20
    spikes = np.zeros((n_steps, 10), np.float32)
    spikes[0, 2] = 1.0
    network = bs.Network(
        [bs.Population("N", 10, bs.SpikeSource()), bs.Population("A", 2, bs.RateUnit())],
        [
            bs.Projection(
                "N", "A", AstrocyteDomains(2, weight=3.0), bs.ExponentialSynapse(tau=25.0), bs.CUBA()
            )
        ],
        [],
    )
    result = bs.run(
        network, float(n_steps), 1.0, key=jr.key(0), inputs={"N": jnp.asarray(spikes)}, monitors=["N->A.g"]
    )
    g = np.asarray(result.traces["N->A.g"])
    # recorded after the step's decay: 3 exp(-dt / tau)
    assert g[:, 0].max() == pytest.approx(3.0 * np.exp(-1.0 / 25.0), rel=1e-5) and g[:, 1].max() == 0.0


def test_ring_and_grid_neighbours():
    np.testing.assert_array_equal(ring_neighbours(5), [[4, 1], [0, 2], [1, 3], [2, 4], [3, 0]])
    np.testing.assert_array_equal(ring_neighbours(6, k=2)[0], [4, 5, 1, 2])
    grid = grid_neighbours(2, 3)  # 0 1 2 / 3 4 5; padding 6
    np.testing.assert_array_equal(grid[0], [6, 3, 6, 1])
    np.testing.assert_array_equal(grid[4], [1, 6, 3, 5])
    # symmetric: j in row i <=> i in row j
    for table, n in ((ring_neighbours(7, 2), 7), (grid, 6)):
        pairs = {(i, int(j)) for i in range(n) for j in table[i] if j < n}
        assert pairs == {(j, i) for i, j in pairs}
    with pytest.raises(ValueError, match=r"`n` must be > 2k = 2"):
        ring_neighbours(2)
