"""Every mapper's output meets every limit, checked against a naive per-core recount."""

import math
import threading
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import brainsim.hardware as hw


def naive_violations(graph, core_of, chip):
    """Recount per-core use with Python sets (independent of `core_usage`)."""
    pre, post = graph.pre.tolist(), graph.post.tolist()
    core = core_of.tolist()
    dest = defaultdict(set)
    syn = defaultdict(int)
    for i, j in zip(pre, post, strict=True):
        dest[i].add(core[j])
        syn[(i, core[j])] += 1
    bad = []
    for c in set(core):
        n_c = core.count(c)
        if n_c > chip.neurons_per_core.value:
            bad.append(("neurons", c))
        srcs = {i for (i, cc) in syn if cc == c and (chip.intra_core_axons_count or core[i] != c)}
        if chip.in_axons_per_core is not None and len(srcs) > chip.in_axons_per_core.value:
            bad.append(("in_axons", c))
        out = sum(
            len({d for d in dest[i] if chip.intra_core_axons_count or d != c})
            for i in range(graph.n_neurons)
            if core[i] == c
        )
        if chip.out_axons_per_core is not None and out > chip.out_axons_per_core.value:
            bad.append(("out_axons", c))
        if chip.synapse_format == "loihi" and chip.synapse_bits_per_core is not None:
            bits = 0
            for (_, cc), n in syn.items():
                if cc == c:
                    while n > 0:
                        g = min(n, 64)
                        bits += math.ceil((g * chip.weight_bits + 10) / 64) * 64
                        n -= g
            if bits > chip.synapse_bits_per_core.value:
                bad.append(("synapse_bits", c))
    return bad


@st.composite
def networks_and_chips(draw):
    n = draw(st.integers(6, 40))
    n_syn = draw(st.integers(0, 4 * n))
    seed = draw(st.integers(0, 2**16))
    n_pop = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["mesh", "loihi", "spinnaker", "mesh_no_intra"]))
    extra = [draw(st.integers(0, 10)) for _ in range(4)]
    delivery = draw(st.sampled_from(["unicast", "multicast"]))
    return n, n_syn, seed, n_pop, kind, extra, delivery


def build(n, n_syn, seed, n_pop, kind, extra, delivery):
    rng = np.random.default_rng(seed)
    pre, post = rng.integers(0, n, n_syn), rng.integers(0, n, n_syn)
    population = np.sort(rng.integers(0, n_pop, n))
    population = np.unique(population, return_inverse=True)[1]
    graph = hw.NeuronGraph(
        n, pre, post, rng.gamma(2.0, 5.0, n), population, tuple(f"p{k}" for k in range(population.max() + 1))
    )
    fan_in = max([len(set(pre[post == j].tolist())) for j in range(n)] + [0])
    fan_out = max([len(set(post[pre == i].tolist())) for i in range(n)] + [0])
    if kind == "spinnaker":
        chip = hw.Chip.spinnaker().replace(neurons_per_core=2 + extra[0] % 7)
    elif kind == "loihi":
        chip = hw.Chip.loihi().replace(
            neurons_per_core=2 + extra[0] % 7, in_axons_per_core=fan_in + 1 + extra[1]
        )
    else:
        side = math.ceil(math.sqrt(n)) + 1
        chip = hw.generic_mesh(
            side,
            side,
            neurons_per_core=1 + extra[0],
            in_axons_per_core=fan_in + 1 + extra[1],
            out_axons_per_core=fan_out + 1 + extra[2],
            synapse_bits_per_core=64 * (fan_in + 1) + 50 * extra[3],
            intra_core_axons_count=kind == "mesh",
            delivery=delivery,
        )
    return graph, chip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks_and_chips(), st.sampled_from(hw.MAPPERS))
def test_every_mapper_meets_every_limit(case, mapper):
    graph, chip = build(*case)
    m = hw.map_network(graph, chip, mapper, seed=0, moves=10_000)
    assert m.core_of.shape == (graph.n_neurons,)
    assert m.violations == ()
    assert naive_violations(graph, m.core_of, chip) == []
    assert m.core_of.max() < chip.n_cores


@pytest.fixture(scope="module")
def sheets():
    return hw.modular_sheets(seed=1, order="shuffled", modules_per_side=2, side=18)


def test_traffic_mapper_beats_pacman_on_shuffled_sheets(sheets):
    chip = hw.generic_mesh(6, 6)
    g = sheets.graph
    b1 = hw.map_network(g, chip, "pacman", seed=0, atoms_per_core=-(-g.n_neurons // 36))
    ours = hw.map_network(g, chip, "traffic", seed=0, n_cores=36)
    h = {name: hw.cost_report(g, m.core_of, chip).spike_hops for name, m in [("b1", b1), ("ours", ours)]}
    oracle = hw.cost_report(g, hw.geometric_oracle(sheets, 3), chip).spike_hops
    assert h["ours"] < h["b1"]
    assert (h["b1"] - h["ours"]) >= 0.8 * (h["b1"] - oracle)


def test_split_until_fits_and_fewest_cores(sheets):
    chip = hw.generic_mesh(16, 16, in_axons_per_core=300, out_axons_per_core=300)
    g = sheets.graph
    b2 = hw.map_network(g, chip, "split_until_fits", seed=0)
    ours = hw.map_network(g, chip, "traffic", seed=0)
    assert b2.feasible and ours.feasible
    assert ours.n_cores_used < b2.n_cores_used


def test_pacman_neighbour_first_order():
    # two populations of 3 slices on a 3 x 3 mesh: the first fills (0,0), then its E neighbour
    # (1,0), then N neighbour (0,1); the second starts at the next free chip in x-major order
    chip = hw.generic_mesh(3, 3)
    slots, notes = hw.neighbour_first_placement(np.array([0, 0, 0, 1, 1, 1]), chip)
    xy = chip.core_xy[slots]
    assert [tuple(p) for p in xy[:3].tolist()] == [(0, 0), (1, 0), (0, 1)]
    assert tuple(xy[3]) == (0, 2) and notes == []


def test_bad_mapper_arguments():
    g = hw.from_arrays(4, np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match="`mapper` must be one of"):
        hw.map_network(g, hw.Chip.loihi(), "magic")
    with pytest.raises(ValueError, match="`n_cores` must be in"):
        hw.map_network(g, hw.Chip.loihi(), "traffic", n_cores=0)
    with pytest.raises(TypeError, match="graph"):
        hw.map_network("net", hw.Chip.loihi())
    with pytest.raises(ValueError, match="`moves` must be >= 0; got -1"):
        hw.map_network(g, hw.Chip.loihi(), "metis_anneal", moves=-1)
    with pytest.raises(ValueError, match="`moves` must be >= 0; got -1"):
        hw.anneal_placement(np.ones((2, 2)), hw.Chip.loihi(), seed=0, moves=-1)
    with pytest.raises(ValueError, match="`max_rounds` must be >= 0; got -1"):
        hw.refine_assignment(g, np.zeros(4, np.int64), hw.Chip.loihi(), seed=0, max_rounds=-1)


def _burn(stop):
    """Busy Python loop: competes with the mapper for the GIL and a CPU core until `stop`."""
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


@pytest.mark.parametrize("mapper", ["pacman", "split_until_fits", "metis_anneal", "traffic"])
def test_the_same_mapper_seed_gives_the_same_mapping_under_any_load(mapper):
    # default budgets (no `moves`): those are what users get; a wall-time budget would do fewer
    # annealing moves or refinement rounds while the other thread holds the CPU
    sheets = hw.modular_sheets(seed=3, order="shuffled", modules_per_side=2, side=9)
    chip = hw.generic_mesh(4, 4, 2, in_axons_per_core=200, out_axons_per_core=200)
    quiet = hw.map_network(sheets.graph, chip, mapper, seed=5)
    again = hw.map_network(sheets.graph, chip, mapper, seed=5)
    stop = threading.Event()
    burner = threading.Thread(target=_burn, args=(stop,), daemon=True)
    burner.start()
    try:
        loaded = hw.map_network(sheets.graph, chip, mapper, seed=5)
        assert burner.is_alive()  # the load really overlapped the mapping
    finally:
        stop.set()
        burner.join()
    for other in (again, loaded):
        np.testing.assert_array_equal(other.core_of, quiet.core_of)
        assert other.notes == quiet.notes
    assert quiet.feasible
    if mapper in ("metis_anneal", "traffic"):  # the seed reaches METIS and the annealer
        other_seed = hw.map_network(sheets.graph, chip, mapper, seed=6)
        assert not np.array_equal(other_seed.core_of, quiet.core_of)
