"""`brainsim/analysis/distance.py`: the van Rossum distance against its closed form and against
Elephant (which omits the factor 1/2: its distance is sqrt(2) times ours)."""

import elephant.spike_train_dissimilarity as dissimilarity
import neo
import numpy as np
import pytest
import quantities as pq

import brainsim.analysis as ba


@pytest.mark.parametrize("delta", [0.0, 0.3, 4.0, 25.0])
@pytest.mark.parametrize("tau", [2.0, 10.0])
def test_single_spikes_match_the_closed_form(delta, tau):
    d = ba.van_rossum_distance(np.array([10.0]), np.array([10.0 + delta]), tau_ms=tau)
    assert d**2 == pytest.approx(1 - np.exp(-delta / tau), abs=1e-12)


def test_against_an_empty_train_and_symmetry():
    far = np.arange(5) * 1000.0  # spikes far apart compared with tau
    assert ba.van_rossum_distance(far, np.zeros(0), tau_ms=1.0) ** 2 == pytest.approx(2.5)
    a, b = np.array([1.0, 7.0, 9.5]), np.array([2.0, 30.0])
    assert ba.van_rossum_distance(a, b, tau_ms=5.0) == pytest.approx(ba.van_rossum_distance(b, a, tau_ms=5.0))
    assert ba.van_rossum_distance(a, a, tau_ms=5.0) == 0.0


def test_matrix_matches_pairs_and_elephant():
    rng = np.random.default_rng(0)
    n = 5
    trains = [np.sort(rng.uniform(0.0, 500.0, rng.integers(0, 30))) for _ in range(n)]
    times = np.concatenate(trains)
    indices = np.repeat(np.arange(n), [t.size for t in trains])
    matrix = ba.van_rossum_matrix(ba.spike_trains((times, indices), n=n), tau_ms=8.0)
    for i in range(n):
        for j in range(n):
            assert matrix[i, j] == pytest.approx(
                ba.van_rossum_distance(trains[i], trains[j], tau_ms=8.0), abs=1e-12
            )
    neo_trains = [neo.SpikeTrain(t * pq.ms, t_stop=500.0 * pq.ms) for t in trains]
    reference = dissimilarity.van_rossum_distance(neo_trains, time_constant=8.0 * pq.ms)
    np.testing.assert_allclose(np.sqrt(2.0) * matrix, reference, atol=1e-9)
