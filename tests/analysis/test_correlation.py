"""`brainsim/analysis/correlation.py`: Fano factor, count correlation and Golomb's chi on trains
with known statistics, and the Fano factor against Elephant's."""

import elephant.statistics
import numpy as np
import pytest

import brainsim.analysis as ba


def _poisson(rng, n, duration, rate):
    counts = rng.poisson(rate * duration * 1e-3, size=n)
    times = rng.uniform(0.0, duration, size=counts.sum())
    return ba.spike_trains((times, np.repeat(np.arange(n), counts)), n=n, t_start=0.0, t_stop=duration)


@pytest.mark.parametrize("window_ms", [20.0, 200.0])
def test_fano_factor_of_poisson_trains_is_one_at_every_window(window_ms):
    trains = _poisson(np.random.default_rng(0), 40, 40_000.0, 20.0)
    assert ba.fano_factor(trains, window_ms=window_ms) == pytest.approx(1.0, abs=0.05)


def test_fano_factor_of_a_clock_whose_period_divides_the_window_is_zero():
    times = np.arange(1, 1001) * 10.0  # 100 Hz, 10 s; 5 spikes in every 50 ms window
    trains = ba.spike_trains((times, np.zeros(1000, np.int64)), n=1, t_start=0.0, t_stop=10_000.0)
    assert ba.fano_factor(trains, window_ms=50.0) == 0.0


def test_fano_factor_equals_elephants_over_the_same_windows():
    trains = _poisson(np.random.default_rng(1), 1, 10_000.0, 8.0)
    windows = [
        trains.times[(trains.times > a) & (trains.times <= a + 100.0)]
        for a in np.arange(0.0, 10_000.0, 100.0)
    ]
    assert ba.fano_factor(trains, window_ms=100.0) == pytest.approx(
        elephant.statistics.fanofactor(windows), rel=1e-12
    )


def test_fano_factor_needs_the_window_and_two_windows():
    times, indices = np.array([1.0, 2.0]), np.array([0, 0])
    with pytest.raises(ValueError, match="`t_start`/`t_stop` are unknown"):
        ba.fano_factor((times, indices), window_ms=1.0)
    with pytest.raises(ValueError, match="fewer than 2 counting windows"):
        ba.fano_factor(ba.spike_trains((times, indices), t_start=0.0, t_stop=3.0), window_ms=2.0)


def test_synchrony_chi_is_one_when_synchronous_and_about_one_over_sqrt_n_when_independent():
    rng = np.random.default_rng(2)
    n, duration = 100, 20_000.0
    independent = _poisson(rng, n, duration, 10.0)
    assert ba.synchrony_chi(independent, bin_ms=5.0) == pytest.approx(1 / np.sqrt(n), rel=0.3)
    shared = np.sort(rng.uniform(0.0, duration, 200))
    synchronous = ba.spike_trains(
        (np.tile(shared, n), np.repeat(np.arange(n), shared.size)), n=n, t_start=0.0, t_stop=duration
    )
    assert ba.synchrony_chi(synchronous, bin_ms=5.0) == pytest.approx(1.0, abs=1e-12)


def test_synchrony_chi_of_traces_separates_locked_from_scattered_phases():
    t = np.linspace(0.0, 1000.0, 4001)[:, None]
    phases = np.random.default_rng(3).uniform(0, 2 * np.pi, 64)
    assert ba.synchrony_chi_of_traces(np.sin(2 * np.pi * t / 25.0 + 0.0 * phases)) == pytest.approx(1.0)
    assert ba.synchrony_chi_of_traces(np.sin(2 * np.pi * t / 25.0 + phases)) < 0.25
    assert np.isnan(ba.synchrony_chi_of_traces(np.zeros((10, 3))))


def test_spike_count_correlation_of_copies_independent_and_silent_neurons():
    rng = np.random.default_rng(4)
    a = np.sort(rng.uniform(0.0, 10_000.0, 300))
    b = np.sort(rng.uniform(0.0, 10_000.0, 300))
    times = np.concatenate([a, a, b])
    indices = np.repeat([0, 1, 2], 300)
    rho = ba.spike_count_correlation(
        ba.spike_trains((times, indices), n=4, t_start=0.0, t_stop=10_000.0), window_ms=50.0
    )
    assert rho[0, 1] == pytest.approx(1.0) and rho[0, 0] == pytest.approx(1.0)
    assert abs(rho[0, 2]) < 3 / np.sqrt(200)  # 200 windows: the null's standard error is 1/sqrt(200)
    assert np.all(np.isnan(rho[3])) and np.all(np.isnan(rho[:, 3]))


def test_fano_and_chi_from_spikes_equal_their_dense_count_matrix_forms():
    trains = ba.spike_trains(_poisson(np.random.default_rng(5), 30, 5000.0, 20.0), n=33)  # 3 silent
    counts = ba.binned_spike_counts(trains, bin_ms=7.0).astype(np.float64)
    assert counts.shape == (33, 714)
    mean = counts.mean(axis=1)
    active = mean > 0
    dense_fano = np.mean(counts[active].var(axis=1) / mean[active])
    assert ba.fano_factor(trains, window_ms=7.0) == pytest.approx(dense_fano, rel=1e-12)
    assert ba.synchrony_chi(trains, bin_ms=7.0) == pytest.approx(
        ba.synchrony_chi_of_traces(counts.T), rel=1e-12
    )
