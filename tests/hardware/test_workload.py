import numpy as np
import pytest

import brainsim.hardware as hw


@pytest.fixture(scope="module", params=["spatial", "shuffled"])
def small(request):
    return hw.modular_sheets(seed=3, order=request.param, modules_per_side=2, side=12, local_in=8, sigma=1.5)


def test_degrees_and_no_self_or_duplicates(small):
    g = small.graph
    assert g.n_neurons == 4 * 144
    np.testing.assert_array_equal(np.bincount(g.post, minlength=g.n_neurons), 8 + 4)
    assert not np.any(g.pre == g.post)
    assert (
        np.unique(g.post * g.n_neurons + g.pre).size + 0 >= g.n_synapses - 4 * g.n_neurons
    )  # local part is unique
    local = g.population[g.pre] == g.population[g.post]
    key = g.post[local] * g.n_neurons + g.pre[local]
    assert np.unique(key).size == key.size


def test_local_offsets_are_small_and_long_range_goes_to_torus_neighbours(small):
    g = small.graph
    local = g.population[g.pre] == g.population[g.post]
    di = np.abs(small.row[g.pre[local]] - small.row[g.post[local]])
    di = np.minimum(di, 12 - di)
    assert di.max() <= 10 and di.mean() < 2.0
    mp = small.modules_per_side
    mx, my = small.module % mp, small.module // mp
    d = (np.abs(mx[g.pre[~local]] - mx[g.post[~local]]) % mp) + (
        np.abs(my[g.pre[~local]] - my[g.post[~local]]) % mp
    )
    assert np.all(d == 1)


def test_oracle_patches():
    w = hw.modular_sheets(seed=0, modules_per_side=2, side=12)
    core = hw.geometric_oracle(w, 3)
    counts = np.bincount(core, minlength=36)
    np.testing.assert_array_equal(counts, 16)  # 4 x 4 patches
    # module (1, 0), row 0, column 11 -> node (3 + 11 // 4, 0) = (5, 0) -> index 5
    sel = (w.module == 1) & (w.row == 0) & (w.col == 11)
    assert core[sel][0] == 5
    with pytest.raises(ValueError, match="must divide"):
        hw.geometric_oracle(w, 5)


def test_spatial_and_shuffled_are_the_same_network():
    a = hw.modular_sheets(seed=2, order="spatial", modules_per_side=2, side=9)
    b = hw.modular_sheets(seed=2, order="shuffled", modules_per_side=2, side=9)

    # the shuffle is applied after drawing, so mapping each id to its position gives equal edge sets
    def pos(w):
        return w.module * 81 + w.row * 9 + w.col

    ea = set(zip(pos(a)[a.graph.pre].tolist(), pos(a)[a.graph.post].tolist(), strict=True))
    eb = set(zip(pos(b)[b.graph.pre].tolist(), pos(b)[b.graph.post].tolist(), strict=True))
    assert ea == eb
    assert not np.array_equal(a.graph.pre, b.graph.pre)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`order` must be"):
        hw.modular_sheets(seed=0, order="random")
    with pytest.raises(ValueError, match="`side` must be >= 3"):
        hw.modular_sheets(seed=0, side=2)
