"""`brainsim/hardware/report.py` (and the window logic of `cost_report`): reports, plots that
say why they are empty, and costs over the simulation's own window and time step."""

import json

import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import pytest

import brainsim as bs
import brainsim.hardware as hw


def test_report_and_plots():
    sheets = hw.modular_sheets(seed=0, modules_per_side=2, side=9)
    chip = hw.generic_mesh(3, 3, 2)
    g = sheets.graph
    m = hw.map_network(g, chip, "traffic", seed=0, n_cores=18)
    cost = hw.cost_report(g, m.core_of, chip)
    assert cost.window_source == "assumed" and (cost.duration_ms, cost.dt_ms) == (1000.0, 1.0)
    rep = hw.mapping_report(g, m, cost, full=True)
    back = json.loads(json.dumps(rep))
    assert back["cores_used"] == 18 and back["provenance"]["e_syn"]["tag"] == "inherited"
    msgs, hops = hw.population_traffic(g, m)
    assert np.isclose(msgs.sum(), cost.messages)  # 1 s window: counts = rates
    assert np.isclose(hops.sum(), cost.spike_hops_unicast)
    # each plot shows the numbers it claims, recounted here from `core_of` and the cost report
    img = np.asarray(hw.plot_core_load(m, cost, quantity="neurons").images[0].get_array())
    per_router = np.bincount(m.core_of // chip.cores_per_router, minlength=chip.n_routers)
    xy = chip.router_xy
    np.testing.assert_array_equal(img[xy[:, 1], xy[:, 0]], per_router)
    assert np.nansum(img) == g.n_neurons
    lines = hw.plot_link_load(m, cost).collections[0]
    assert len(lines.get_segments()) == len(cost.link_load)
    assert np.asarray(lines.get_array()).sum() == pytest.approx(sum(cost.link_load.values()))  # 1 s
    pop = np.asarray(hw.plot_population_traffic(g, m).images[0].get_array())
    assert pop.shape == (len(g.population_names),) * 2
    assert pop.sum() == pytest.approx(cost.spike_hops_unicast)
    figures = [plt.figure(k) for k in plt.get_fignums()]
    assert len(figures) == 3 and not any(ax.texts for f in figures for ax in f.axes)  # nothing to explain
    plt.close("all")


@pytest.fixture(scope="module")
def coba():
    net = bs.models.COBANetwork(n=200, key=jr.key(0))
    return net, bs.simulate(net, 50.0, 0.1, key=jr.key(1))


def _mapped(net, result):
    graph = hw.from_network(net, rates=hw.rates_from_spikes(net.synapse_graph(), result))
    return graph, hw.map_network(graph, hw.generic_mesh(2, 2), "pacman", seed=0)


def test_cost_report_takes_window_and_step_from_the_record(coba):
    net, result = coba
    graph, m = _mapped(net, result)
    from_record = hw.cost_report(graph, m.core_of, m.chip, record=result)
    assert from_record.window_source == "record"
    assert (from_record.duration_ms, from_record.dt_ms, from_record.n_steps) == (
        pytest.approx(50.0),
        0.1,
        500,
    )
    assert from_record.spikes == pytest.approx(sum(r.times.size for r in result.spikes.values()))
    counts = hw.rates_from_spikes(net.synapse_graph(), result) * 0.05
    by_hand = hw.cost_report(graph, m.core_of, m.chip, spike_counts=counts, duration_ms=50.0, dt_ms=0.1)
    assert by_hand.window_source == "given"
    assert {**from_record.to_dict(), "window_source": "given"} == by_hand.to_dict()
    assumed = hw.cost_report(graph, m.core_of, m.chip)  # rates only: 1 s at 1 ms, and it says so
    assert assumed.window_source == "assumed" and assumed.n_steps == 1000
    assert hw.mapping_report(graph, m, record=result)["cost"]["window_source"] == "record"


def test_cost_report_refuses_a_record_it_cannot_account_for(coba):
    net, result = coba
    graph, m = _mapped(net, result)
    with pytest.raises(ValueError, match="`dt_ms` = 1.0 ms disagrees with the record's 0.1 ms"):
        hw.cost_report(graph, m.core_of, m.chip, record=result, dt_ms=1.0)
    with pytest.raises(ValueError, match="give `record` or `spike_counts`"):
        hw.cost_report(graph, m.core_of, m.chip, record=result, spike_counts=np.ones(graph.n_neurons))
    only_e = bs.simulate(net, 10.0, 0.1, key=jr.key(2), record_spikes=("E",))
    with pytest.raises(ValueError, match=r"kept no spikes of \['I'\]"):
        hw.cost_report(graph, m.core_of, m.chip, record=only_e)
    sheets = hw.modular_sheets(seed=0, modules_per_side=2, side=9).graph
    with pytest.raises(ValueError, match="has no population"):
        hw.cost_report(sheets, np.zeros(sheets.n_neurons, np.int64), m.chip, record=result)


def test_empty_traffic_plots_say_why():
    chip = hw.generic_mesh(2, 2)
    graph = hw.from_arrays(4, np.array([0, 1, 2]), np.array([1, 2, 3]), rates=5.0)
    one_core = hw.Mapping(chip, np.zeros(4, np.int64), "by hand", 0.0)
    cost = hw.cost_report(graph, one_core.core_of, chip, duration_ms=100.0, dt_ms=0.1)
    texts = lambda ax: [t.get_text() for t in ax.texts]  # noqa: E731
    assert texts(hw.plot_link_load(one_core, cost)) == ["no inter-core traffic: all synapses on one core"]
    assert texts(hw.plot_population_traffic(graph, one_core)) == [
        "no inter-core traffic: all synapses on one core"
    ]
    silent = hw.from_arrays(4, np.array([0, 1, 2]), np.array([1, 2, 3]), rates=0.0)
    spread = hw.Mapping(chip, np.arange(4), "by hand", 0.0)
    quiet = hw.cost_report(silent, spread.core_of, chip, duration_ms=100.0, dt_ms=0.1)
    load = hw.plot_core_load(spread, quiet)
    assert texts(load) == ["no synaptic events: no spikes in the window"]
    assert "(100 ms, dt 0.1 ms, given)" in load.get_title()
    assert texts(hw.plot_link_load(spread, quiet)) == [
        "no inter-core traffic: no neuron spikes (all rates 0 Hz)"
    ]
    plt.close("all")
