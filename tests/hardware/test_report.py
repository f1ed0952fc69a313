import json

import matplotlib.pyplot as plt
import numpy as np

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
    for ax in (hw.plot_core_load(m, cost), hw.plot_link_load(m, cost), hw.plot_population_traffic(g, m)):
        assert ax.figure is not None
    plt.close("all")
