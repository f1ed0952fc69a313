import numpy as np

import brainsim.hardware as hw


def test_refinement_never_worsens_and_reports_the_true_objective():
    sheets = hw.modular_sheets(seed=4, order="shuffled", modules_per_side=2, side=12, local_in=8, sigma=1.5)
    chip = hw.generic_mesh(4, 4)
    g = sheets.graph
    start = hw.map_network(g, chip, "pacman", seed=0, atoms_per_core=36).core_of
    before = hw.cost_report(g, start, chip).spike_hops_unicast
    core, notes = hw.refine_assignment(g, start, chip, seed=0, balance=0.1)
    after = hw.cost_report(g, core, chip).spike_hops_unicast
    assert after < before
    assert notes[-1] == f"refinement end: {after:.6g} spike-hops/s"
    assert np.bincount(core, minlength=16).max() <= int(np.ceil(g.n_neurons / 16 * 1.1))
