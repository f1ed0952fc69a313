import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim.hardware as hw
from brainsim.hardware.soft_cost import _min_cost_assignment


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    n, s = 12, 40
    key = np.unique(rng.integers(0, n, s) * n + rng.integers(0, n, s))
    pre, post = key // n, key % n
    g = hw.NeuronGraph(n, pre, post, rng.uniform(1, 10, n), np.zeros(n, np.int64))
    chip = hw.generic_mesh(3, 2)
    core = rng.integers(0, chip.n_cores, n)
    return g, chip, core


def test_one_hot_equals_the_cost_model(toy):
    g, chip, core = toy
    onehot = jax.nn.one_hot(core, chip.n_cores, dtype=jnp.float32)
    got = hw.expected_spike_hops(
        onehot,
        jnp.asarray(g.pre),
        jnp.asarray(g.post),
        jnp.asarray(g.rates, jnp.float32),
        hw.core_distance(chip),
    )
    want = hw.cost_report(g, core, chip).spike_hops_unicast
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_expected_hops_match_monte_carlo(toy):
    g, chip, _ = toy
    rng = np.random.default_rng(1)
    prob = rng.dirichlet(np.ones(chip.n_cores), g.n_neurons)
    exact = float(
        hw.expected_spike_hops(
            jnp.asarray(prob, jnp.float32),
            jnp.asarray(g.pre),
            jnp.asarray(g.post),
            jnp.asarray(g.rates, jnp.float32),
            hw.core_distance(chip),
        )
    )
    draws = [
        hw.cost_report(g, np.array([rng.choice(chip.n_cores, p=p) for p in prob]), chip).spike_hops_unicast
        for _ in range(400)
    ]
    assert exact == pytest.approx(np.mean(draws), rel=0.05)


def test_gradients(toy):
    g, chip, _ = toy
    dist = hw.core_distance(chip)
    pre, post, rates = jnp.asarray(g.pre), jnp.asarray(g.post), jnp.asarray(g.rates, jnp.float32)

    def f(logits):
        return hw.expected_spike_hops(jax.nn.softmax(jnp.asarray(logits), axis=1), pre, post, rates, dist)

    logits = np.asarray(jax.random.normal(jax.random.key(0), (g.n_neurons, chip.n_cores)), np.float32)
    check_grads(f, (logits,), order=1, modes=["rev"], atol=0.05, rtol=0.05)
    w = jnp.asarray(np.random.default_rng(2).normal(size=g.n_synapses), jnp.float32)
    gw = jax.grad(hw.synapse_hop_cost)(w, jax.nn.softmax(jnp.asarray(logits), axis=1), pre, post, rates, dist)
    # d/dw_s of |w_s| r_pre E[d]: sign(w_s) r_pre(s) sum_ab P[pre, a] D[a, b] P[post, b], by loops
    prob = np.asarray(jax.nn.softmax(jnp.asarray(logits), axis=1), np.float64)
    d, cores = np.asarray(dist, np.float64), range(chip.n_cores)
    want = [
        np.sign(float(w[s]))
        * g.rates[i]
        * sum(prob[i, a] * d[a, b] * prob[j, b] for a in cores for b in cores)
        for s, (i, j) in enumerate(zip(g.pre.tolist(), g.post.tolist(), strict=True))
    ]
    np.testing.assert_allclose(np.asarray(gw), want, rtol=1e-4)
    # a synapse whose endpoints share a core surely costs nothing: zero gradient
    onehot = jax.nn.one_hot(jnp.zeros(g.n_neurons, jnp.int32), chip.n_cores, dtype=jnp.float32)
    assert float(jnp.abs(jax.grad(hw.synapse_hop_cost)(w, onehot, pre, post, rates, dist)).max()) == 0.0


def test_duplicate_pairs_are_rejected():
    prob = jnp.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="each \\(pre, post\\) pair once"):
        hw.expected_spike_hops(prob, jnp.array([0, 0]), jnp.array([1, 1]), jnp.ones(3), jnp.ones((2, 2)))


def test_gradient_descent_lowers_the_cost_and_jit_vmap_work(toy):
    g, chip, _ = toy
    dist = hw.core_distance(chip)
    pre, post, rates = jnp.asarray(g.pre), jnp.asarray(g.post), jnp.asarray(g.rates, jnp.float32)

    def cost(logits):
        return hw.expected_spike_hops(jax.nn.softmax(logits, axis=1), pre, post, rates, dist)

    logits = jax.random.normal(jax.random.key(1), (g.n_neurons, chip.n_cores))
    start = cost(logits)
    step = jax.jit(lambda lg: lg - 0.05 * jax.grad(cost)(lg))
    for _ in range(50):
        logits = step(logits)
    assert cost(logits) < 0.8 * start
    batch = jax.vmap(cost)(jnp.stack([logits, jnp.zeros_like(logits)]))
    np.testing.assert_allclose(
        np.asarray(batch), [float(cost(logits)), float(cost(jnp.zeros_like(logits)))], rtol=1e-5
    )


def test_gradient_placement_is_a_good_permutation():
    sheets = hw.modular_sheets(seed=0, modules_per_side=2, side=12, local_in=8, sigma=1.5)
    chip = hw.generic_mesh(4, 4)
    g = sheets.graph
    part = hw.geometric_oracle(sheets, 2)  # 16 patches = logical cores
    w = hw.part_traffic(g, part, 16)
    placed = hw.gradient_placement(w, chip, key=jax.random.key(0), steps=300)
    assert np.unique(placed).size == 16
    dist = hw.router_distance(chip)
    random_cost = np.mean(
        [(w * dist[p][:, p]).sum() for p in (np.random.default_rng(s).permutation(16) for s in range(20))]
    )
    got = (w * dist[placed][:, placed]).sum()
    oracle = (w * dist).sum()  # patch k of the oracle sits on core k
    assert got < 0.9 * random_cost and got < 1.15 * oracle


@pytest.mark.parametrize("seed", range(40))
def test_assignment_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    p = int(rng.integers(1, 6))
    c = p + int(rng.integers(0, 3))
    # small integers make ties common; floats exercise the potentials
    cost = rng.integers(0, 4, (p, c)).astype(float) if seed % 2 else rng.normal(size=(p, c))
    got = _min_cost_assignment(cost)
    assert np.unique(got).size == p and got.min() >= 0 and got.max() < c
    best = min(sum(cost[i, j] for i, j in enumerate(cols)) for cols in itertools.permutations(range(c), p))
    assert cost[np.arange(p), got].sum() == pytest.approx(best, abs=1e-12)


def test_assignment_rejects_bad_costs():
    with pytest.raises(ValueError, match="no more rows than columns"):
        _min_cost_assignment(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="`cost` must be finite"):
        _min_cost_assignment(np.array([[np.inf, 0.0]]))
