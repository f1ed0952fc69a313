"""`run_sharded` on 4 forced CPU devices gives the single-device spikes, state and overflow
counts, for contiguous, METIS and given partitions, current and event inputs, `ELL` and
`Procedural` connectivity, and NEST's minimum-delay exchange."""

import pytest
from multi_device_helpers import run_on_devices

pytestmark = pytest.mark.slow  # a subprocess compiling six to seven runs


@pytest.fixture(scope="module")
def cases():
    return run_on_devices(4, "four")


def test_runs_on_four_devices(cases):
    assert {c["device_count"] for c in cases} == {4}
    assert {c["devices"] for c in cases} == {4}
    assert {c["partition"] for c in cases} == {"contiguous", "metis", "given"}


def test_spikes_state_and_overflow_equal_single_device(cases):
    for case in cases:
        label = (case["case"], case["partition"])
        assert sum(case["spikes"].values()) > 10, label  # the networks are active
        assert case["spikes_equal"], label
        assert case["counts_equal"], label
        assert case["state_equal"], label
        assert case["overflow_equal"], label


def test_overflow_case_takes_the_exact_path(cases):
    (case,) = [c for c in cases if c["case"] == "inputs_overflow"]
    assert case["overflow"]["A->A"] > 0  # steps beyond the 3-row buffer, counted as on one device
    assert case["exchange_every"] == 2  # the shortest delay: one exchange per 2 steps


def test_metis_moves_fewer_bytes_on_a_clustered_network(cases):
    by_partition = {c["partition"]: c["report"] for c in cases if c["case"] == "clustered_ell_poisson"}
    contiguous, metis = by_partition["contiguous"], by_partition["metis"]
    assert metis["cut_synapse_fraction"] < 0.1 < 0.5 < contiguous["cut_synapse_fraction"]
    assert metis["all_gather_bytes_per_step"] < contiguous["all_gather_bytes_per_step"]
    assert metis["cross_device_spikes_per_step"] < contiguous["cross_device_spikes_per_step"]
    assert metis["index_list_bytes_per_step"] < contiguous["index_list_bytes_per_step"]


def test_reported_bytes_are_the_buffer_sent(cases):
    for case in cases:
        report, d = case["report"], case["devices"]
        expected = d * (d - 1) * case["packed_bytes_per_exchange"] / case["exchange_every"]
        assert report["all_gather_bytes_per_step"] == pytest.approx(expected)
        assert report["all_gather_bytes_per_step"] <= report["full_gather_bytes_per_step"]
