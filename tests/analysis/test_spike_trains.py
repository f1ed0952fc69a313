"""`brainsim/analysis/spike_trains.py`: what a `SpikeTrains` knows, where it comes from, and
how spikes fall into bins."""

import jax.random as jr
import numpy as np
import pytest

import brainsim as bs
import brainsim.analysis as ba


@pytest.fixture(scope="module")
def result():
    net = bs.models.COBANetwork(n=200, key=jr.key(0))
    first = bs.simulate(net, 20.0, 0.1, key=jr.key(1))
    return bs.simulate(net, 30.0, 0.1, key=jr.key(2), initial_state=first.final_state)  # starts at 20 ms


def test_a_result_supplies_window_step_and_size(result):
    trains = ba.spike_trains(result, "E")
    assert (trains.n, trains.t_start, trains.t_stop, trains.dt) == (160, 20.0, pytest.approx(50.0), 0.1)
    np.testing.assert_array_equal(trains.times, result.spikes["E"].times)
    assert repr(trains).startswith(f"SpikeTrains({trains.n_spikes} spikes, n=160, 20-50 ms, dt=0.1 ms")
    record = ba.spike_trains(result.spikes["E"])  # a bare record knows neither
    assert record.t_stop is None and record.n is None
    with pytest.raises(ValueError, match="`name` is required"):
        ba.spike_trains(result)


def test_end_of_step_spike_times_fall_in_their_own_step_bin(result):
    trains = ba.spike_trains(result, "E")
    counts = ba.population_activity(trains, bin_ms=trains.dt)
    np.testing.assert_array_equal(counts, result.spike_counts["E"])  # bins of one step = steps


def test_binned_counts_are_right_closed_and_keep_complete_bins():
    times = np.array([0.0, 1.0, 1.0000001, 2.0, 2.5, 3.0, 3.5])
    trains = ba.spike_trains((times, np.array([0, 1, 1, 0, 0, 1, 0])), n=2, t_start=0.0, t_stop=3.5)
    np.testing.assert_array_equal(ba.binned_spike_counts(trains, bin_ms=1.0), [[1, 1, 1], [1, 1, 1]])


def test_inconsistent_spikes_are_refused():
    with pytest.raises(ValueError, match="`indices` must be < `n` = 2"):
        ba.spike_trains((np.array([1.0]), np.array([2])), n=2)
    with pytest.raises(ValueError, match="lies after `t_stop`"):
        ba.spike_trains((np.array([11.0]), np.array([0])), t_start=0.0, t_stop=10.0)
    with pytest.raises(ValueError, match="1-D of equal length"):
        ba.spike_trains((np.array([1.0, 2.0]), np.array([0])))
    with pytest.raises(TypeError, match="must be a SimulationResult"):
        ba.spike_trains((np.zeros(2), np.zeros(2, np.int64), 1.0))  # not a (times, indices) pair
