import numpy as np
import pytest

import brainsim.hardware as hw


@pytest.mark.parametrize("name", ["loihi", "loihi_fitted", "loihi2", "spinnaker", "spinnaker2", "truenorth"])
def test_every_constant_is_sourced_and_tagged(name):
    chip = hw.Chip.from_name(name)
    prov = chip.provenance()
    assert prov, name
    for field, entry in prov.items():
        assert entry["tag"] in hw.TAGS, field
        assert entry["source"], field
        assert (entry["value"] is None) == (entry["tag"] == "unknown"), field


def test_documented_values_from_the_reference():
    loihi = hw.Chip.loihi()
    assert loihi.n_cores == 128 and loihi.neurons_per_core.value == 1024
    assert loihi.in_axons_per_core.value == loihi.out_axons_per_core.value == 4096
    assert loihi.e_syn.value == 23.6 and loihi.e_syn.tag == "simulated-pre-silicon"
    assert loihi.p_core.value == pytest.approx(815.4296875e-6)
    assert loihi.delivery == "unicast" and loihi.intra_core_axons_count
    spinn = hw.Chip.spinnaker()
    assert spinn.n_routers == 48 and spinn.delivery == "multicast" and spinn.topology == "hexagonal"
    assert spinn.router_entries.value == 1023 and not spinn.router_xy[:, 0].max() > 7
    assert spinn.t_syn.tag == "unknown" and spinn.t_syn.value is None
    assert hw.Chip.spinnaker2().router_entries.value == 16384
    assert hw.Chip.spinnaker2().e_rt.tag == "inherited"
    tn = hw.Chip.truenorth()
    assert tn.n_cores == 4096 and tn.targets_per_neuron.value == 1 and tn.energy_mode == "all-in"
    assert hw.Chip.loihi2().e_syn.tag == "inherited"


def test_spinn5_board_rows():
    xy = hw.Chip.spinnaker().router_xy
    per_row = np.bincount(xy[:, 1])
    np.testing.assert_array_equal(per_row, [5, 6, 7, 8, 7, 6, 5, 4])


def test_generic_mesh_inherits_and_overrides():
    chip = hw.generic_mesh(12, 12)
    assert chip.n_cores == 144 and chip.e_x.tag == "inherited" and chip.neurons_per_core.value == 1024
    small = hw.generic_mesh(3, 2, 2, neurons_per_core=8)
    assert (
        small.n_cores == 12 and small.neurons_per_core.value == 8 and small.neurons_per_core.tag == "assumed"
    )


@pytest.mark.parametrize("w, h", [(0, 3), (3, -1), (-2, -2)])
def test_bad_mesh_sizes(w, h):
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        hw.generic_mesh(w, h)


def test_unknown_preset():
    with pytest.raises(ValueError, match="`name` must be one of"):
        hw.Chip.from_name("loihi3")
    with pytest.raises(ValueError, match="`base` must be a mesh preset"):
        hw.generic_mesh(2, 2, base="spinnaker")


def test_constant_rejects_bad_tags():
    with pytest.raises(ValueError, match="`tag` must be one of"):
        hw.Constant(1.0, "pJ", "x", "guessed")
    with pytest.raises(ValueError, match="exactly when"):
        hw.Constant(None, "pJ", "x", "documented")
