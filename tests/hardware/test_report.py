import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

import brainsim.hardware as hw


def test_report_and_plots():
    sheets = hw.modular_sheets(seed=0, modules_per_side=2, side=9)
    chip = hw.generic_mesh(3, 3, 2)
    g = sheets.graph
    m = hw.map_network(g, chip, "traffic", seed=0, n_cores=18)
    cost = hw.cost_report(g, m.core_of, chip)
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
    plt.close("all")
