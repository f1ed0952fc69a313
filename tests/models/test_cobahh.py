"""Tests of `brainsim/models/cobahh.py` against the published benchmark behaviour."""

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs


@pytest.mark.slow
def test_cobahh_4000_fires_at_about_35_hz_and_stays_finite():
    # Brian2 on these parameters: 36.5 Hz; BrainPy 34.1 Hz.
    net = bs.models.COBAHHNetwork(n=4000, key=jr.key(0))
    result = bs.simulate(net, 1000.0, 0.1, key=jr.key(1), monitors=["E.v"])
    n_spikes = sum(len(r.times) for r in result.spikes.values())
    rate = n_spikes / 4000
    assert 25.0 <= rate <= 45.0
    # the trace (every step, from -65 +- 5 mV) shows each recorded spike as an upward crossing of
    # -20 mV, neuron by neuron (a NaN would break the match)
    v = np.asarray(result.traces["E.v"])
    crossings = np.diff((v >= -20.0).astype(np.int64), axis=0, prepend=0) == 1
    np.testing.assert_array_equal(
        crossings.sum(0), np.bincount(result.spikes["E"].indices, minlength=v.shape[1])
    )


def test_cobahh_initial_conductances_follow_the_benchmark():
    net = bs.models.COBAHHNetwork(n=2000, key=jr.key(0))
    g_exc = np.asarray(net.projections[0].initial_state.tree.g)  # E -> E
    g_inh = np.asarray(net.projections[2].initial_state.tree.g)  # I -> E
    assert abs(g_exc.mean() - 40.0) < 2.0 and abs(g_exc.std() - 15.0) < 1.5
    assert abs(g_inh.mean() - 200.0) < 12.0 and abs(g_inh.std() - 120.0) < 10.0
