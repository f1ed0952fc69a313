"""`run_sharded` on 8 forced CPU devices: `CSR` (METIS weighted by a run's activity), `Dense`
(contiguous) and a 3-step delay exchanged every 3 steps (200 steps: the last interval is
shorter) give the single-device spikes and state."""

import pytest
from multi_device_helpers import run_on_devices

pytestmark = pytest.mark.slow  # a subprocess compiling six to seven runs


@pytest.fixture(scope="module")
def cases():
    return run_on_devices(8, "eight")


def test_spikes_and_state_equal_single_device_on_eight_devices(cases):
    assert {c["device_count"] for c in cases} == {8}
    assert [c["case"] for c in cases] == ["coba_csr", "clustered_dense", "clustered_delay3"]
    for case in cases:
        label = (case["case"], case["partition"])
        assert sum(case["spikes"].values()) > 10, label
        assert case["spikes_equal"] and case["counts_equal"], label
        assert case["state_equal"] and case["overflow_equal"], label


def test_min_delay_exchange_divides_the_volume(cases):
    (case,) = [c for c in cases if c["case"] == "clustered_delay3"]
    assert case["exchange_every"] == 3
    report = case["report"]
    assert report["all_gather_bytes_per_step"] == pytest.approx(8 * 7 * case["packed_bytes_per_exchange"] / 3)
