"""Tests of `brainsim/models/coba.py` against published benchmark behaviour."""

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


@pytest.mark.slow
def test_coba_4000_fires_asynchronously_irregularly_at_about_20_hz():
    # Brian2 on these parameters: 21.2 Hz; BrainPy 19.8 Hz; NEST 21.0 Hz.
    net = bs.models.COBANetwork(n=4000, key=jr.key(0))
    result = bs.simulate(net, 1000.0, 0.1, key=jr.key(1))
    n_spikes = sum(len(r.times) for r in result.spikes.values())
    rate = n_spikes / (4000 * 1.0)
    assert 15.0 <= rate <= 30.0
    steady = result.spikes["E"].times > 200.0
    cv = bs.analysis.isi_cv(result.spikes["E"].times[steady], result.spikes["E"].indices[steady])
    assert cv > 0.5
    # asynchronous: the population rate in 1 ms bins fluctuates much less than a synchronous burst
    _, pop_rate = result.population_rate("E", bin_ms=1.0)
    assert pop_rate[200:].std() < 3 * pop_rate[200:].mean()
    assert sum(result.overflow_steps.values()) < result.n_steps  # reported, never silent


def test_cuba_fires_in_range():
    net = bs.models.CUBANetwork(n=2000, key=jr.key(0))
    result = bs.simulate(net, 300.0, 0.1, key=jr.key(1))
    rate = float(np.mean([float(r) for r in result.rates.values()]))
    assert 1.0 < rate < 60.0


def test_fixed_in_degree_option_gives_exact_in_degree():
    net = bs.models.COBANetwork(n=1000, in_degree=80, key=jr.key(0))
    graph = net.synapse_graph()
    pre, post, _, _ = graph.global_edges()
    in_degree = np.bincount(post, minlength=1000)
    assert np.all(in_degree == 80)
    exc_inputs = np.bincount(post[pre < 800], minlength=1000)
    assert np.all(exc_inputs == 64)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n": 3}, "`n` must be >= 5"), ({"p": 1.5}, "`p` must be in"), ({"n": 0}, "`n` must be")],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bs.models.COBANetwork(key=jr.key(0), **kwargs)


def test_procedural_coba_keeps_the_mean_in_degree_and_fires():
    net = bs.models.COBANetwork(n=1000, in_degree=80, procedural=True, key=jr.key(0))
    _, post, _, _ = net.synapse_graph().global_edges()
    assert abs(np.bincount(post, minlength=1000).mean() - 80.0) < 1.0
    result = bs.simulate(net, 100.0, 0.1, key=jr.key(1))
    assert 5.0 < float(result.rates["E"]) < 60.0
    with pytest.raises(ValueError, match="`procedural=True` needs `in_degree`"):
        bs.models.COBANetwork(n=1000, procedural=True, key=jr.key(0))
