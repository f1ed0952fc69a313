"""`brainsim/analysis/seeded_branching.py`: the seeded (perturbation) estimator recovers known
branching ratios: exact ones of deterministic networks (each spike fires exactly `k` neurons)
and the expected descendants of a random network computed from its connection matrix."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import brainsim as bs

DT = 0.5  # ms; delay 2 steps: one generation is 1 ms (instantaneous synapses)


def _network(n, connectivity, gaps, inputs=(), plasticity=None):
    """LIF neurons resting `gaps` mV below threshold; a spike of 400 pA through an
    instantaneous synapse moves its target by ~3.8 mV within the arrival step, so it fires
    exactly the targets with gaps below that (never the others, from rest)."""
    e_leak = jnp.asarray(-50.0 - np.asarray(gaps, np.float64))
    lif = bs.LIF(c_m=50.0, e_leak=e_leak, t_ref=20.0)
    population = bs.Population("E", n, lif, initial_state=bs.LIFState(v=e_leak, refractory=jnp.zeros(n)))
    projection = bs.Projection(
        "E", "E", connectivity, bs.InstantaneousSynapse(), bs.CUBA(), delay_steps=2, plasticity=plasticity
    )
    return bs.Network([population], [projection], inputs, key=jr.key(0))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_each_spike_firing_exactly_k_neurons_gives_k(k):
    network = _network(200, bs.FixedOutDegree(k, weight=400.0, allow_self_connections=False), np.ones(200))
    estimate = bs.analysis.seeded_branching_ratio(
        network, "E", generation_ms=1.0, n_generations=1, n_trials=20, dt=DT, key=jr.key(0)
    )
    assert estimate.m == k
    assert estimate.standard_error == 0.0
    np.testing.assert_array_equal(estimate.generations, [1.0, k])


def test_a_ring_keeps_every_seed_alive_for_many_generations():
    """i -> i + 1 (a permutation): every spike has exactly one descendant, so m = 1 exactly."""
    targets = (np.arange(100) + 1)[:, None] % 100
    network = _network(100, bs.ELL(targets, 400.0, 100), np.ones(100))
    estimate = bs.analysis.seeded_branching_ratio(
        network, "E", generation_ms=1.0, n_generations=8, n_trials=10, dt=DT, key=jr.key(1)
    )
    assert estimate.m == 1.0
    np.testing.assert_array_equal(estimate.generations, np.ones(9))


def _expected_ratio(network, excitable, n_generations):
    """The definition: spikes x_g per neuron, x_{g+1} = B^T x_g (B_ij = 1 for a synapse i -> j
    onto an excitable neuron), from uniform seeds; m = sum_1^K |x_g| / sum_0^{K-1} |x_g|."""
    targets = np.asarray(network.projections[0].connectivity.targets)
    n = targets.shape[0]
    transmit = np.zeros((n, n))
    transmit[np.repeat(np.arange(n), targets.shape[1]), targets.ravel()] = excitable[targets.ravel()]
    x, totals = np.full(n, 1.0 / n), [1.0]
    for _ in range(n_generations):
        x = transmit.T @ x
        totals.append(x.sum())
    return sum(totals[1:]) / sum(totals[:-1])


@pytest.mark.parametrize("fraction", [0.15, 0.3])  # m ~ 0.6 and ~ 1.2
def test_random_network_matches_the_expected_descendants_of_its_connection_matrix(fraction):
    n, k = 2000, 4
    excitable = np.random.default_rng(0).random(n) < fraction
    gaps = np.where(excitable, 2.0, 20.0)  # mV: a 3.8 mV input fires only the excitable ones
    network = _network(n, bs.FixedOutDegree(k, weight=400.0, allow_self_connections=False), gaps)
    estimate = bs.analysis.seeded_branching_ratio(
        network, "E", generation_ms=1.0, n_generations=4, n_trials=300, dt=DT, key=jr.key(2)
    )
    expected = _expected_ratio(network, excitable, 4)
    assert 0.0 < estimate.standard_error < 0.05
    assert estimate.m == pytest.approx(expected, abs=3 * estimate.standard_error)


def test_subcritical_followed_to_extinction_does_not_depend_on_the_binning():
    """Bins of two generations: each sum still totals the progeny, so m is unchanged."""
    n, k = 2000, 4
    excitable = np.random.default_rng(3).random(n) < 0.1
    gaps = np.where(excitable, 2.0, 20.0)
    network = _network(n, bs.FixedOutDegree(k, weight=400.0, allow_self_connections=False), gaps)
    estimate = bs.analysis.seeded_branching_ratio(
        network, "E", generation_ms=2.0, n_generations=10, n_trials=300, dt=DT, key=jr.key(4)
    )
    expected = _expected_ratio(network, excitable, 40)
    assert expected < 0.7
    assert estimate.m == pytest.approx(expected, abs=3 * estimate.standard_error)


def test_the_control_run_removes_the_drive():
    """With Poisson drive and no recurrent weight, the network spikes but no spike has descendants."""
    drive = bs.PoissonInput("E", 1, 200.0, 8000.0, bs.InstantaneousSynapse(), bs.CUBA())
    network = _network(50, bs.FixedOutDegree(3, weight=0.0), np.ones(50), inputs=[drive])
    result = bs.run(network, 5.0, DT, key=jr.key(0), record=False)
    assert float(np.sum(result.spike_counts["E"])) > 10  # the drive alone makes spikes
    estimate = bs.analysis.seeded_branching_ratio(
        network, "E", generation_ms=1.0, n_generations=5, n_trials=10, dt=DT, key=jr.key(0)
    )
    assert estimate.m == 0.0


def test_rejects_bad_arguments():
    network = _network(20, bs.FixedOutDegree(2, weight=400.0), np.ones(20))
    estimate = bs.analysis.seeded_branching_ratio
    with pytest.raises(ValueError, match="unknown population `I`"):
        estimate(network, "I", generation_ms=1.0, key=jr.key(0))
    with pytest.raises(ValueError, match="`n_seeds` must be in \\[1, 20\\]"):
        estimate(network, "E", generation_ms=1.0, n_seeds=21, key=jr.key(0))
    with pytest.raises(ValueError, match="`n_trials` must be >= 2"):
        estimate(network, "E", generation_ms=1.0, n_trials=1, key=jr.key(0))
    with pytest.raises(ValueError, match="`generation_ms` must be a positive multiple of `dt`"):
        estimate(network, "E", generation_ms=0.75, dt=DT, key=jr.key(0))
    stdp = bs.dynamics.plasticity.PairSTDP(
        a_plus=1.0, a_minus=1.0, tau_plus=20.0, tau_minus=20.0, w_min=0.0, w_max=500.0
    )
    plastic = _network(20, bs.FixedOutDegree(2, weight=400.0), np.ones(20), plasticity=stdp)
    with pytest.raises(ValueError, match="plastic projections \\['E->E'\\]"):
        estimate(plastic, "E", generation_ms=1.0, key=jr.key(0))
