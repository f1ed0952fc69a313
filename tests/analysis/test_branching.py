"""`brainsim/analysis/branching.py`: the multistep-regression estimator recovers the branching
ratio of a simulated branching process, fully observed and subsampled."""

import numpy as np
import pytest

import brainsim.analysis as ba


def _branching_process(rng, m, drive, steps):
    """A_{t+1} ~ Poisson(m A_t + h): a branching process with immigration, branching ratio m."""
    activity = np.empty(steps, np.int64)
    activity[0] = round(drive / (1 - m))
    for t in range(1, steps):  # the generator under test, not library code
        activity[t] = rng.poisson(m * activity[t - 1] + drive)
    return activity


# tolerances: 3 standard deviations of the estimate over 20 seeds (0.018, 0.0056, ~0.003)
@pytest.mark.parametrize("m, tolerance", [(0.5, 0.055), (0.9, 0.017), (0.98, 0.01)])
def test_recovers_the_branching_ratio_of_a_fully_observed_process(m, tolerance):
    activity = _branching_process(np.random.default_rng(0), m, 10.0, 20_000)
    estimate = ba.branching_ratio(activity, k_max=20)
    assert estimate.m == pytest.approx(m, abs=tolerance)
    assert estimate.conventional == pytest.approx(m, abs=tolerance)
    assert estimate.b == pytest.approx(1.0, abs=0.1)


def test_multistep_regression_is_unbiased_under_subsampling_where_r1_is_not():
    rng = np.random.default_rng(1)
    activity = _branching_process(rng, 0.9, 10.0, 40_000)
    observed = rng.binomial(activity, 0.05)  # 5 % of the spikes seen
    estimate = ba.branching_ratio(observed, k_max=40)
    assert estimate.m == pytest.approx(0.9, abs=0.02)
    assert estimate.conventional < 0.45  # r_1 = b m with b ~ 0.2
    assert ba.autocorrelation_time(estimate, bin_ms=4.0) == pytest.approx(-4.0 / np.log(estimate.m))


def test_population_activity_feeds_it_from_spikes():
    times = np.array([0.5, 1.0, 1.2, 2.5, 2.6, 2.7])
    trains = ba.spike_trains((times, np.zeros(6, np.int64)), t_start=0.0, t_stop=3.0)
    np.testing.assert_array_equal(ba.population_activity(trains, bin_ms=1.0), [2, 1, 3])


def test_rejects_constant_activity_and_bad_lags():
    with pytest.raises(ValueError, match="`activity` is constant"):
        ba.branching_ratio(np.full(100, 3), k_max=5)
    with pytest.raises(ValueError, match="`k_max` must be in"):
        ba.branching_ratio(np.arange(100), k_max=30)
