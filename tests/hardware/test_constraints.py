import numpy as np
import pytest

import brainsim.hardware as hw


def test_loihi_bits_groups_of_64():
    # n = 65 synapses at 8 bits: one full group ceil64(64*8 + 10) = 576 and one of 1: ceil64(18) = 64
    np.testing.assert_array_equal(hw.loihi_axon_bits(np.array([1, 2, 64, 65]), 8), [64, 64, 576, 640])


def test_in_axons_without_intra_core_sources():
    g = hw.from_arrays(3, np.array([0, 1, 2]), np.array([1, 2, 0]))
    chip = hw.generic_mesh(2, 1, intra_core_axons_count=False)
    u = hw.core_usage(g, np.array([0, 0, 1]), chip)
    np.testing.assert_array_equal(u.in_axons, [1, 1])  # 2 -> 0 into core 0; 1 -> 2 into core 1
    np.testing.assert_array_equal(u.out_axons, [1, 1])


def test_fan_in_beyond_any_core_is_named():
    n = 20
    g = hw.from_arrays(n, np.arange(1, n), np.zeros(n - 1, np.int64))
    chip = hw.generic_mesh(4, 4, in_axons_per_core=10)
    with pytest.raises(hw.InfeasibleMappingError, match="neuron 0 has fan-in 19"):
        hw.map_network(g, chip, "traffic", seed=0)


def test_too_small_chip_reports_minimum_cores():
    g = hw.from_arrays(100, np.array([0]), np.array([1]))
    chip = hw.generic_mesh(2, 2, neurons_per_core=10)
    with pytest.raises(hw.InfeasibleMappingError, match="at least 10") as err:
        hw.map_network(g, chip, "metis_anneal", seed=0)
    assert err.value.min_cores == 10


def test_violation_names_core_and_limit():
    g = hw.from_arrays(4, np.array([0, 1]), np.array([2, 3]))
    chip = hw.generic_mesh(2, 1, neurons_per_core=3)
    v = hw.check_constraints(g, np.zeros(4, np.int64), chip)
    assert [(x.constraint, x.where, x.used, x.limit) for x in v] == [("neurons", "core 0", 4.0, 3.0)]


def _ring_graph(n):
    return hw.from_arrays(n, np.arange(n), (np.arange(n) + 1) % n)


def _partition_needing(threshold):
    """A partition function that breaks the neuron limit (10 per core) below `threshold` parts."""
    n = 1000

    def partition(k):
        if k < threshold:
            return np.zeros(n, np.int64)  # everything on one core: breaks the limit
        return np.arange(n) * k // n  # k parts of n / k neurons

    return partition


@pytest.mark.parametrize("threshold", [100, 101, 137, 180])
def test_core_count_search_finds_the_threshold(threshold):
    g = _ring_graph(1000)
    chip = hw.generic_mesh(16, 16, neurons_per_core=11)
    part, tried = hw.search_core_count(g, chip, _partition_needing(threshold), resolution=0.0)
    assert int(part.max()) + 1 == threshold and tried[0] == hw.minimum_cores(g, chip)
    assert len(tried) <= 12  # gallop + bisection, not a linear scan
    assert hw.partition_fits(g, part, chip)


def test_core_count_search_names_the_failure():
    g = _ring_graph(1000)
    chip = hw.generic_mesh(10, 10, neurons_per_core=11)  # 100 cores, but the partition needs 137
    with pytest.raises(hw.InfeasibleMappingError, match="neurons") as err:
        hw.search_core_count(g, chip, _partition_needing(137))
    assert err.value.min_cores == 91
