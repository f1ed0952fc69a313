"""`brainsim/analysis/spectrum.py`: Welch and periodogram estimates against scipy, a known
oscillation frequency and the Poisson noise floor."""

import numpy as np
import pytest
import scipy.signal

import brainsim.analysis as ba


def _modulated_poisson(rng, n, duration, rate, depth, frequency):
    """`n` independent inhomogeneous Poisson trains, rate(t) = rate (1 + depth sin 2 pi f t)."""
    dt = 0.1
    t = np.arange(0.0, duration, dt) + dt
    p = rate * 1e-3 * dt * (1 + depth * np.sin(2 * np.pi * frequency * t * 1e-3))
    fired = rng.random((n, t.size)) < p
    neuron, step = np.nonzero(fired)
    return ba.spike_trains((t[step], neuron), n=n, t_start=0.0, t_stop=duration, dt=dt)


def test_welch_and_periodogram_equal_scipys():
    x = np.random.default_rng(0).standard_normal(4000)
    f, p = ba.signal_spectrum(x, sampling_ms=0.5, segment_ms=256.0)
    f_ref, p_ref = scipy.signal.welch(x, fs=2000.0, nperseg=512)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10)
    f, p = ba.signal_spectrum(x, sampling_ms=0.5, method="periodogram")
    f_ref, p_ref = scipy.signal.periodogram(x, fs=2000.0)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-15)


def test_recovers_a_40_hz_population_oscillation():
    trains = _modulated_poisson(np.random.default_rng(1), 50, 4000.0, 20.0, 0.8, 40.0)
    f, p = ba.power_spectrum(trains, bin_ms=1.0, segment_ms=500.0)  # 2 Hz resolution
    assert f[np.argmax(p[1:]) + 1] == pytest.approx(40.0, abs=2.0)
    assert f[-1] == pytest.approx(500.0)  # Nyquist of 1 ms bins, in Hz


def test_independent_poisson_neurons_give_the_flat_floor_two_nu_over_n():
    trains = _modulated_poisson(np.random.default_rng(2), 40, 10_000.0, 10.0, 0.0, 1.0)
    f, p = ba.power_spectrum(trains, bin_ms=2.0, segment_ms=1000.0)
    assert np.mean(p[f > 5.0]) == pytest.approx(2 * 10.0 / 40, rel=0.05)  # Hz^2/Hz


def test_periodogram_satisfies_parseval():
    x = np.random.default_rng(3).standard_normal(1000)
    f, p = ba.signal_spectrum(x, sampling_ms=1.0, method="periodogram")
    assert np.sum(p) * (f[1] - f[0]) == pytest.approx(np.var(x), rel=1e-10)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="`method` must be one of"):
        ba.signal_spectrum(np.zeros(100), sampling_ms=1.0, method="multitaper")
    with pytest.raises(ValueError, match="`segment_ms` must span 8 to 100 samples"):
        ba.signal_spectrum(np.zeros(100), sampling_ms=1.0, segment_ms=1000.0)
