import dataclasses

import numpy as np
import pytest

import brainsim.hardware as hw

LOIHI = hw.Chip.loihi()


def _core(x, y):  # Loihi: 8 x 4 tiles, 4 cores per tile, routers y-major
    return (y * 8 + x) * 4


def _ex1():
    g = hw.from_arrays(3, np.array([0, 0, 1]), np.array([1, 2, 2]))
    return g, np.zeros(3, np.int64)


def _ex2():
    g = hw.from_arrays(5, np.array([0, 0, 0, 1]), np.array([2, 3, 4, 0]))
    core = np.array([_core(0, 0), _core(0, 0), _core(2, 0), _core(2, 0), _core(2, 1)])
    return g, core


ONE_SPIKE = dict(duration_ms=1.0, dt_ms=1.0)


def test_example_1_one_core():
    g, core = _ex1()
    r = hw.cost_report(g, core, LOIHI, spike_counts=np.array([1.0, 0, 0]), **ONE_SPIKE)
    assert r.synaptic_ops == 2 and r.messages == 1 and r.spike_hops == 0
    assert r.energy_dynamic_j == pytest.approx(233.9e-12)
    assert r.energy_static_j == pytest.approx(815.4296875e-9)
    assert r.latency_breakdown_s["core"] == pytest.approx(26.0e-9)
    assert r.latency_breakdown_s["path"] == pytest.approx(2.1e-9)
    assert r.latency_s == pytest.approx(139.0e-9)
    u = hw.core_usage(g, core, LOIHI)
    assert u.in_axons[0] == 2 and u.out_axons[0] == 2 and u.synapse_bits[0] == 128
    assert r.feasible


def test_example_2_three_cores_unicast_and_multicast():
    g, core = _ex2()
    s = np.array([1.0, 0, 0, 0, 0])
    r = hw.cost_report(g, core, LOIHI, spike_counts=s, **ONE_SPIKE)
    assert r.synaptic_ops == 3 and r.messages == 2
    assert (r.hops_x, r.hops_y, r.spike_hops) == (4, 1, 5)
    assert r.max_link_load * 1e-3 == pytest.approx(2.0)  # 2 spikes in the 1 ms window
    assert sorted(r.link_load.values()) == [1.0, 2.0, 2.0]
    assert r.energy_dynamic_j == pytest.approx(379.2e-12)
    assert r.energy_static_j == pytest.approx(2446.2890625e-9)
    np.testing.assert_allclose(r.core_synaptic_ops[core[[2, 4]]], [2, 1])
    assert r.latency_breakdown_s["core"] == pytest.approx(17.6e-9)
    assert r.latency_breakdown_s["link"] == pytest.approx(2 / 3.44 * 1e-9)
    assert r.latency_breakdown_s["path"] == pytest.approx(16.8e-9)
    assert r.latency_breakdown_s["sync"] == pytest.approx(135.7097e-9, rel=1e-6)
    assert r.latency_s == pytest.approx(153.3097e-9, rel=1e-6)
    u = hw.core_usage(g, core, LOIHI)
    np.testing.assert_array_equal(u.in_axons[core[[0, 2, 4]]], [1, 1, 1])
    np.testing.assert_array_equal(u.out_axons[core[[0, 2, 4]]], [3, 0, 0])
    np.testing.assert_array_equal(u.synapse_bits[core[[0, 2, 4]]], [64, 64, 64])
    mc = hw.cost_report(
        g, core, dataclasses.replace(LOIHI, delivery="multicast"), spike_counts=s, **ONE_SPIKE
    )
    assert (mc.hops_x, mc.hops_y, mc.spike_hops) == (2, 1, 3)
    assert mc.max_link_load * 1e-3 == pytest.approx(1.0)
    assert mc.energy_dynamic_j == pytest.approx(373.2e-12)
    assert r.spike_hops_multicast == 3 and mc.spike_hops_unicast == 5


def test_example_3_spinnaker_lattice():
    chip = hw.Chip.spinnaker()
    r = {tuple(p): i for i, p in enumerate(chip.router_xy.tolist())}
    k = chip.cores_per_router
    g = hw.from_arrays(3, np.array([0, 0]), np.array([1, 2]))
    core = np.array([0, r[(1, 1)] * k, r[(2, 2)] * k])
    rep = hw.cost_report(g, core, chip, spike_counts=np.array([1.0, 0, 0]), **ONE_SPIKE)
    assert rep.spike_hops == 2 and rep.router_traversals == 3
    assert rep.energy_dynamic_j == pytest.approx(3e-9)
    assert rep.energy_static_j == pytest.approx(1.152e-3)
    assert rep.spike_hops_unicast == 3
    assert rep.latency_s == 1e-3 and "t_syn" not in rep.unknown_terms  # fixed step: no time terms used
    np.testing.assert_array_equal(rep.router_entries[[r[(0, 0)], r[(1, 1)], r[(2, 2)]]], [1, 1, 1])


def test_truenorth_all_in_energy_and_target_limit():
    chip = hw.Chip.truenorth()
    g, _ = _ex2()
    core = np.array([0, 0, 1, 1, 2])
    rep = hw.cost_report(g, core, chip, spike_counts=np.array([1.0, 0, 0, 0, 0]), **ONE_SPIKE)
    assert rep.energy_j == pytest.approx(3 * 26e-12)  # all-in: no hop, update or static term
    assert [v.constraint for v in rep.violations] == ["targets_per_neuron"]


def test_rates_give_the_same_counts_as_a_record():
    g, core = _ex2()
    g = g.with_rates(np.array([10.0, 5.0, 0, 0, 0]))
    from_rates = hw.cost_report(g, core, LOIHI, duration_ms=200.0)
    from_counts = hw.cost_report(
        g, core, LOIHI, spike_counts=np.array([2.0, 1.0, 0, 0, 0]), duration_ms=200.0
    )
    assert from_rates.spike_hops == pytest.approx(from_counts.spike_hops)
    assert from_rates.energy_j == pytest.approx(from_counts.energy_j)


def test_bad_inputs():
    g, core = _ex2()
    with pytest.raises(ValueError, match="`spike_counts` must have shape"):
        hw.cost_report(g, core, LOIHI, spike_counts=np.ones(4))
    with pytest.raises(ValueError, match="`core_of` must hold core indices"):
        hw.cost_report(g, np.full(5, 10_000), LOIHI)
    with pytest.raises(ValueError, match="`duration_ms` must be > 0"):
        hw.cost_report(g, core, LOIHI, duration_ms=0.0)
    with pytest.raises(ValueError, match="`rates` must have shape"):
        hw.NeuronGraph(5, np.array([0]), np.array([1]), np.ones(4), np.zeros(5, np.int64))


def test_report_is_json_serialisable():
    import json

    g, core = _ex2()
    s = np.array([1.0, 0, 0, 0, 0])
    back = json.loads(
        json.dumps(hw.cost_report(g, core, LOIHI, spike_counts=s, **ONE_SPIKE).to_dict(full=True))
    )
    # the known values of example 2 survive the round trip
    assert (back["synaptic_ops"], back["messages"], back["spike_hops"]) == (3, 2, 5)
    assert sorted(back["link_load"].values()) == [1.0, 2.0, 2.0]
    assert back["core_synaptic_ops"][int(core[2])] == 2 and sum(back["core_neurons"]) == 5
    assert back["feasible"] is True and back["violations"] == []
    assert back["energy_dynamic_j"] == pytest.approx(379.2e-12)
    assert "core_neurons" not in hw.cost_report(g, core, LOIHI).to_dict()  # arrays only when full
