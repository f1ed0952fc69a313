"""`brainsim/analysis/rates.py`: rates per neuron and population, and time-resolved rates whose
kernels have known responses to a single spike."""

import math

import numpy as np
import pytest

import brainsim.analysis as ba


def _one_spike(at=50.0, stop=100.0):
    return ba.spike_trains((np.array([at]), np.array([0])), n=1, t_start=0.0, t_stop=stop, dt=0.1)


def test_firing_rates_and_mean_rate_count_silent_neurons():
    trains = ba.spike_trains(
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 0, 2])), n=4, t_start=0.0, t_stop=500.0
    )
    np.testing.assert_allclose(ba.firing_rates(trains), [6.0, 0.0, 2.0, 0.0])  # Hz over 0.5 s
    assert ba.mean_rate(trains) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="`n` is unknown"):
        ba.mean_rate(ba.spike_trains((trains.times, trains.indices), t_start=0.0, t_stop=500.0))


def test_gaussian_kernel_response_to_one_spike():
    kernel = ba.RateKernel("gaussian", 4.0)
    times, rate = ba.instantaneous_rates(_one_spike(), kernel, resolution_ms=0.1)
    peak = 1e3 / (math.sqrt(2 * math.pi) * 4.0)  # Hz
    assert rate[:, 0].max() == pytest.approx(peak, rel=1e-3)
    assert times[np.argmax(rate[:, 0])] == pytest.approx(49.95)  # centre of the bin holding the spike
    assert np.sum(rate) * 0.1 == pytest.approx(1e3, rel=1e-6)  # one spike: area 1e3 Hz ms
    assert kernel.label == "Gaussian kernel, σ = 4 ms"


def test_rectangular_kernel_is_flat_over_its_width():
    _, rate = ba.instantaneous_rates(_one_spike(), ba.RateKernel("rectangular", 10.0), resolution_ms=1.0)
    # the spike at 50 ms sits in bin 49, (49, 50], counted at its centre 49.5 ms; the kernel
    # [-5, 5) ms then covers bins 45 .. 53 fully and half of bins 44 and 54 (bin-averaged)
    np.testing.assert_allclose(rate[45:54, 0], 100.0)
    np.testing.assert_allclose(rate[[44, 54], 0], 50.0)
    np.testing.assert_allclose(np.delete(rate[:, 0], np.arange(44, 55)), 0.0, atol=1e-9)


def test_exponential_kernel_is_causal_and_decays_with_tau():
    tau = 5.0
    times, rate = ba.instantaneous_rates(_one_spike(), ba.RateKernel("exponential", tau), resolution_ms=0.1)
    r = rate[:, 0]
    np.testing.assert_allclose(r[times < 49.9], 0.0, atol=1e-9)
    later = times > 51.0
    np.testing.assert_allclose(r[later], 1e3 / tau * np.exp(-(times[later] - 49.95) / tau), rtol=0.02)


def test_population_rate_of_poisson_neurons_is_their_rate():
    rng = np.random.default_rng(0)
    n, duration, rate = 200, 2000.0, 15.0
    counts = rng.poisson(rate * duration * 1e-3, n)
    trains = ba.spike_trains(
        (rng.uniform(0, duration, counts.sum()), np.repeat(np.arange(n), counts)),
        n=n,
        t_start=0.0,
        t_stop=duration,
        dt=0.5,
    )
    times, population = ba.population_rate(trains, ba.RateKernel("gaussian", 10.0))  # resolution: dt
    assert times[1] - times[0] == pytest.approx(0.5)
    interior = (times > 100.0) & (times < duration - 100.0)
    assert np.mean(population[interior]) == pytest.approx(ba.mean_rate(trains), rel=0.02)
    _, per_neuron = ba.instantaneous_rates(trains, ba.RateKernel("gaussian", 10.0), resolution_ms=0.5)
    np.testing.assert_allclose(per_neuron.mean(axis=1), population, atol=1e-9)


def test_bad_kernels_and_unknown_resolution_are_named():
    with pytest.raises(ValueError, match="`shape` must be one of"):
        ba.RateKernel("boxcar", 5.0)
    with pytest.raises(ValueError, match="`width_ms` must be > 0 ms"):
        ba.RateKernel("gaussian", 0.0)
    no_dt = ba.spike_trains((np.array([1.0]), np.array([0])), n=1, t_start=0.0, t_stop=10.0)
    with pytest.raises(ValueError, match="pass `resolution_ms=`"):
        ba.population_rate(no_dt, ba.RateKernel())
