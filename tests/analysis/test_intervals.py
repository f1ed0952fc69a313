"""`brainsim/analysis/intervals.py`: ISIs, CV and LV against processes with known statistics and
against Elephant on the same trains."""

import elephant.statistics
import numpy as np
import pytest

import brainsim.analysis as ba


def _renewal(rng, n, duration, rate, shape):
    """`n` gamma renewal trains of order `shape` (shape 1: Poisson) at `rate` Hz over `duration`
    ms: CV = 1/sqrt(shape), LV = 3/(2 shape + 1)."""
    mean_isi = 1e3 / rate
    count = int(3 * duration / mean_isi) + 50
    isi = rng.gamma(shape, mean_isi / shape, size=(n, count))
    times = np.cumsum(isi, axis=1)
    keep = times < duration
    indices = np.broadcast_to(np.arange(n)[:, None], times.shape)
    return ba.spike_trains((times[keep], indices[keep]), n=n, t_start=0.0, t_stop=duration)


@pytest.mark.parametrize("shape", [1.0, 4.0])
def test_cv_and_lv_of_gamma_processes_match_their_closed_forms(shape):
    trains = _renewal(np.random.default_rng(0), 40, 20_000.0, 20.0, shape)
    assert ba.isi_cv(trains) == pytest.approx(1 / np.sqrt(shape), abs=0.04)
    assert ba.local_variation(trains) == pytest.approx(3 / (2 * shape + 1), abs=0.04)


def test_a_clock_has_zero_cv_and_lv():
    times = np.concatenate([np.arange(1, 101) * 10.0, np.arange(1, 51) * 20.0 + 3.0])
    indices = np.repeat([0, 1], [100, 50])
    stats = ba.isi_statistics((times, indices))
    np.testing.assert_allclose(stats.cv, 0.0, atol=1e-12)
    np.testing.assert_allclose(stats.lv, 0.0, atol=1e-12)
    np.testing.assert_allclose(stats.mean_isi, [10.0, 20.0])
    np.testing.assert_array_equal(stats.n_spikes, [100, 50])


def test_neurons_with_too_few_spikes_are_nan_and_excluded_from_the_mean():
    times, indices = np.array([1.0, 2.0, 3.0, 5.0, 9.0, 4.0]), np.array([0, 0, 0, 0, 0, 2])
    stats = ba.isi_statistics(ba.spike_trains((times, indices), n=4))
    assert np.isfinite(stats.cv[0]) and np.all(np.isnan(stats.cv[1:]))
    assert ba.isi_cv((times, indices)) == pytest.approx(stats.cv[0])
    assert np.isnan(ba.isi_cv((np.array([1.0]), np.array([0]))))
    assert [len(isi) for isi in ba.interspike_intervals(ba.spike_trains((times, indices), n=4))] == [
        4,
        0,
        0,
        0,
    ]
    with pytest.raises(ValueError, match="`min_spikes` must be >= 3"):
        ba.isi_statistics((times, indices), min_spikes=2)


def test_older_times_indices_form_gives_the_same_cv():
    trains = _renewal(np.random.default_rng(1), 5, 2_000.0, 30.0, 1.0)
    assert ba.isi_cv(trains.times, trains.indices) == ba.isi_cv(trains)


def test_cv_and_lv_equal_elephants_on_the_same_trains():
    trains = _renewal(np.random.default_rng(2), 6, 5_000.0, 15.0, 2.0)
    stats = ba.isi_statistics(trains)
    for i, isi in enumerate(ba.interspike_intervals(trains)):
        assert stats.cv[i] == pytest.approx(elephant.statistics.cv(isi), rel=1e-12)
        assert stats.lv[i] == pytest.approx(elephant.statistics.lv(isi), rel=1e-12)
        np.testing.assert_allclose(isi, elephant.statistics.isi(trains.times[trains.indices == i]))
