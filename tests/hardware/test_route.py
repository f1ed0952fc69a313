import numpy as np
from hypothesis import given, settings, strategies as st

import brainsim.hardware as hw

MESH = hw.generic_mesh(7, 5)
points = st.tuples(st.integers(0, 6), st.integers(0, 4))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(points, points), min_size=1, max_size=20))
def test_xy_route_length_is_manhattan_and_links_are_adjacent(pairs):
    src = np.array([p[0] for p in pairs])
    dst = np.array([p[1] for p in pairs])
    hx, hy, hd = hw.hop_counts(MESH, src, dst)
    np.testing.assert_array_equal(hx + hy, np.abs(src - dst).sum(1))
    assert not hd.any()
    route, link = hw.route_links(MESH, src, dst)
    np.testing.assert_array_equal(np.bincount(route, minlength=len(pairs)), hx + hy)
    a, b = hw.link_endpoints(MESH, link)
    assert np.all(np.abs(a - b).sum(1) == 1)
    # walk: each route starts at its source, links chain, and ends at its destination
    for k in range(len(pairs)):
        la, lb = a[route == k], b[route == k]
        if la.size:
            assert tuple(la[0]) == tuple(src[k]) and tuple(lb[-1]) == tuple(dst[k])
            np.testing.assert_array_equal(la[1:], lb[:-1])
            # X first: no E/W hop after a N/S hop
            vertical = la[:, 0] == lb[:, 0]
            assert not np.any(vertical[:-1] & ~vertical[1:])


def test_torus_takes_the_short_way():
    torus = hw.generic_mesh(6, 6, torus=True)
    hx, hy, _ = hw.hop_counts(torus, np.array([[0, 0]]), np.array([[5, 4]]))
    assert hx[0] == 1 and hy[0] == 2


def test_multicast_tree_on_a_known_tree():
    # source (0,0); targets (2,0), (2,2), (0,2): x-links (0,0)->(1,0)->(2,0), then y in column 2
    # (2,0)->(2,1)->(2,2), and column 0 (0,0)->(0,1)->(0,2): 6 links; unicast needs 2 + 4 + 2 = 8
    tree = hw.multicast_tree(MESH, np.array([0, 0]), np.array([[2, 0], [2, 2], [0, 2]]))
    assert tree.size == 6
    a, b = hw.link_endpoints(MESH, tree)
    got = {(tuple(x), tuple(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)}
    assert got == {
        ((0, 0), (1, 0)),
        ((1, 0), (2, 0)),
        ((2, 0), (2, 1)),
        ((2, 1), (2, 2)),
        ((0, 0), (0, 1)),
        ((0, 1), (0, 2)),
    }
    hx, hy, _ = hw.hop_counts(MESH, np.zeros((3, 2), int), np.array([[2, 0], [2, 2], [0, 2]]))
    assert (hx + hy).sum() == 8


@settings(max_examples=30, deadline=None)
@given(st.integers(-3, 3), st.integers(-3, 3))
def test_spinnaker_ldf_length(dx, dy):
    chip = hw.Chip.spinnaker()
    src = np.array([[3, 3]])
    hx, hy, hd = hw.hop_counts(chip, src, src + np.array([[dx, dy]]))
    expect = max(abs(dx), abs(dy)) if dx * dy > 0 else abs(dx) + abs(dy)
    assert (hx + hy + hd)[0] == expect


def test_spinnaker_example_3_tree_and_tables():
    chip = hw.Chip.spinnaker()
    xy = chip.router_xy
    r = {tuple(p): i for i, p in enumerate(xy.tolist())}
    tree = hw.multicast_tree(chip, np.array([0, 0]), np.array([[1, 1], [2, 2]]))
    assert tree.size == 2  # two NE hops
    k = chip.cores_per_router
    entries = hw.router_table_entries(chip, np.array([0, 0]), np.array([r[(1, 1)] * k, r[(2, 2)] * k]))
    assert entries[r[(0, 0)]] == entries[r[(1, 1)]] == entries[r[(2, 2)]] == 1 and entries.sum() == 3
    # a pure pass-through router is defaultable: (0,0) -> (2,2) only
    entries = hw.router_table_entries(chip, np.array([0]), np.array([r[(2, 2)] * k]))
    assert entries[r[(1, 1)]] == 0 and entries.sum() == 2


def test_router_distance_matches_routes_on_every_topology():
    for chip in (hw.generic_mesh(5, 4), hw.generic_mesh(5, 4, torus=True), hw.Chip.spinnaker()):
        xy = chip.router_xy
        a, b = np.meshgrid(np.arange(xy.shape[0]), np.arange(xy.shape[0]), indexing="ij")
        hx, hy, hd = hw.hop_counts(chip, xy[a.ravel()], xy[b.ravel()])
        np.testing.assert_array_equal(hw.router_distance(chip), (hx + hy + hd).reshape(a.shape))
