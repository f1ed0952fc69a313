r"""Routes on the router grid: XY (mesh) and longest-dimension-first (SpiNNaker lattice).

A **hop** is one directed router-to-router link traversal. Links are numbered
`link = (y * width + x) * 6 + direction`, where `(x, y)` is the router the link leaves and
`direction` indexes `DIRECTIONS` (E, NE, N, W, SW, S). All functions are vectorised over
routes: no Python loop runs over neurons, synapses or hops.
"""

import numpy as np
from jaxtyping import Int

from .chips import DIRECTIONS, Chip

_E, _NE, _N, _W, _SW, _S = range(6)


def core_router(chip: Chip) -> Int[np.ndarray, " n_cores"]:
    """Router index of each core (`c // cores_per_router`)."""
    return np.arange(chip.n_cores) // chip.cores_per_router


def _wrap(delta: np.ndarray, size: int, torus: bool) -> np.ndarray:
    if not torus:
        return delta
    return (delta + size // 2) % size - size // 2  # shortest way round; ties go negative


def route_segments(
    chip: Chip, src_xy: Int[np.ndarray, "m 2"], dst_xy: Int[np.ndarray, "m 2"]
) -> tuple[Int[np.ndarray, "m 3"], Int[np.ndarray, "m 3"]]:
    r"""Each route as up to three straight segments `(direction, length)` in walking order.

    Mesh, XY: $|dx|$ hops E or W, then $|dy|$ hops N or S (torus: the shorter way round).
    Hexagonal, LDF: when $dx$ and $dy$ share a sign the diagonal NE/SW axis absorbs
    $d = \operatorname{sign}\cdot\min(|dx|,|dy|)$, so the length is $\max(|dx|,|dy|)$, else
    $|dx|+|dy|$; the longest component is walked first (PACMAN `longest_dimension_first`).

    **Arguments:**
    - `chip`: the platform.
    - `src_xy`, `dst_xy`: int arrays `(m, 2)` of router grid positions.

    **Returns:** `(directions, lengths)`, int arrays `(m, 3)`; unused segments have length 0.
    """
    src_xy = np.asarray(src_xy, np.int64).reshape(-1, 2)
    dst_xy = np.asarray(dst_xy, np.int64).reshape(-1, 2)
    dx = _wrap(dst_xy[:, 0] - src_xy[:, 0], chip.width, chip.torus)
    dy = _wrap(dst_xy[:, 1] - src_xy[:, 1], chip.height, chip.torus)
    if chip.topology == "hexagonal":
        same = np.sign(dx) * np.sign(dy) > 0
        d = np.where(same, np.sign(dx) * np.minimum(np.abs(dx), np.abs(dy)), 0)
        comps = np.stack([dx - d, dy - d, d], axis=1)
        dirs = np.stack(
            [
                np.where(comps[:, 0] >= 0, _E, _W),
                np.where(comps[:, 1] >= 0, _N, _S),
                np.where(comps[:, 2] >= 0, _NE, _SW),
            ],
            axis=1,
        )
        lengths = np.abs(comps)
        order = np.argsort(-lengths, axis=1, kind="stable")  # longest dimension first
        return np.take_along_axis(dirs, order, 1), np.take_along_axis(lengths, order, 1)
    dirs = np.stack([np.where(dx >= 0, _E, _W), np.where(dy >= 0, _N, _S), np.full(dx.shape, _E)], axis=1)
    lengths = np.stack([np.abs(dx), np.abs(dy), np.zeros_like(dx)], axis=1)
    return dirs, lengths


def hop_counts(
    chip: Chip, src_xy: Int[np.ndarray, "m 2"], dst_xy: Int[np.ndarray, "m 2"]
) -> tuple[Int[np.ndarray, " m"], Int[np.ndarray, " m"], Int[np.ndarray, " m"]]:
    """Hops of each route split into E-W, N-S and diagonal (NE-SW) hops.

    **Returns:** `(h_x, h_y, h_diag)`, int arrays `(m,)`; the route length is their sum (the
    Manhattan distance on a mesh)."""
    dirs, lengths = route_segments(chip, src_xy, dst_xy)
    is_x = (dirs == _E) | (dirs == _W)
    is_y = (dirs == _N) | (dirs == _S)
    return (
        (lengths * is_x).sum(1),
        (lengths * is_y).sum(1),
        (lengths * ~(is_x | is_y)).sum(1),
    )


def route_links(
    chip: Chip, src_xy: Int[np.ndarray, "m 2"], dst_xy: Int[np.ndarray, "m 2"]
) -> tuple[Int[np.ndarray, " h"], Int[np.ndarray, " h"]]:
    """Every directed link of every route, in walking order.

    **Arguments:** as `route_segments`.

    **Returns:** `(route, link)`: int arrays `(total_hops,)`, the route index and the link id
    of each hop."""
    src_xy = np.asarray(src_xy, np.int64).reshape(-1, 2)
    dirs, lengths = route_segments(chip, src_xy, dst_xy)
    h = lengths.sum(1)
    route = np.repeat(np.arange(h.shape[0]), h)
    k = np.arange(route.shape[0]) - np.repeat(np.cumsum(h) - h, h)
    ends = np.cumsum(lengths, axis=1)  # (m, 3)
    seg = (k >= ends[route, 0]).astype(np.int64) + (k >= ends[route, 1])
    vec = DIRECTIONS[dirs]  # (m, 3, 2)
    disp = np.concatenate(
        [np.zeros_like(vec[:, :1]), np.cumsum(vec * lengths[..., None], axis=1)[:, :2]], axis=1
    )
    seg_start = np.concatenate([np.zeros_like(ends[:, :1]), ends[:, :2]], axis=1)
    offset = k - seg_start[route, seg]
    pos = src_xy[route] + disp[route, seg] + offset[:, None] * vec[route, seg]
    if chip.torus:
        pos = pos % np.array([chip.width, chip.height])
    link = (pos[:, 1] * chip.width + pos[:, 0]) * 6 + dirs[route, seg]
    return route, link


def link_endpoints(
    chip: Chip, link: Int[np.ndarray, " l"]
) -> tuple[Int[np.ndarray, "l 2"], Int[np.ndarray, "l 2"]]:
    """`(from_xy, to_xy)` grid positions of links."""
    link = np.asarray(link, np.int64)
    grid, direction = np.divmod(link, 6)
    y, x = np.divmod(grid, chip.width)
    src = np.stack([x, y], 1)
    dst = src + DIRECTIONS[direction]
    if chip.torus:
        dst = dst % np.array([chip.width, chip.height])
    return src, dst


def multicast_tree(
    chip: Chip, src_xy: Int[np.ndarray, " 2"], dst_xy: Int[np.ndarray, "m 2"]
) -> Int[np.ndarray, " t"]:
    """The multicast tree from one source router: the union of its routes (unique link ids).

    Its size is the number of hops one multicast packet makes."""
    dst_xy = np.asarray(dst_xy, np.int64).reshape(-1, 2)
    src = np.broadcast_to(np.asarray(src_xy, np.int64).reshape(1, 2), dst_xy.shape)
    return np.unique(route_links(chip, src, dst_xy)[1])


def router_table_entries(
    chip: Chip, source_core: Int[np.ndarray, " p"], dest_core: Int[np.ndarray, " p"]
) -> Int[np.ndarray, " n_routers"]:
    """Multicast routing-table entries needed per router (one key per source core).

    A source core's tree is the union of the routes to all its destination cores. Each router
    the tree touches needs one entry, except **defaultable** ones: not the source router, no
    local delivery, one way in and one way out in the same direction (SpiNNMachine
    `routing_entry.py`).

    **Arguments:**
    - `chip`: the platform.
    - `source_core`, `dest_core`: int arrays `(p,)`, one row per (source core, destination
      core) pair; duplicates are allowed.

    **Returns:** int array `(n_routers,)` of entries per router (router index as `chip.router_xy`).
    """
    cr = core_router(chip)
    src_r = cr[np.asarray(source_core)]
    dst_r = cr[np.asarray(dest_core)]
    xy = chip.router_xy
    pairs = np.unique(np.stack([np.asarray(source_core), dst_r], 1), axis=0)
    route, link = route_links(chip, xy[cr[pairs[:, 0]]], xy[pairs[:, 1]])
    tree = np.unique(np.stack([pairs[route, 0], link], 1), axis=0)  # (source core, link)
    grid_to_router = np.full(chip.width * chip.height, -1)
    grid_to_router[xy[:, 1] * chip.width + xy[:, 0]] = np.arange(xy.shape[0])
    frm, to = link_endpoints(chip, tree[:, 1])
    r_from = grid_to_router[frm[:, 1] * chip.width + frm[:, 0]]
    r_to = grid_to_router[to[:, 1] * chip.width + to[:, 0]]
    d = tree[:, 1] % 6
    n_r = xy.shape[0]
    key_src = np.unique(np.stack([np.asarray(source_core), src_r], 1), axis=0)
    key_local = np.unique(np.stack([np.asarray(source_core), dst_r], 1), axis=0)
    touched = np.unique(
        np.concatenate([key_src[:, 0] * n_r + key_src[:, 1], tree[:, 0] * n_r + r_to]), return_index=False
    )
    # per (source core, router): out-link count, in-link count, a direction in and out
    out_key, out_n = np.unique(tree[:, 0] * n_r + r_from, return_counts=True)
    in_key, in_n = np.unique(tree[:, 0] * n_r + r_to, return_counts=True)
    out_dir = np.zeros(touched.shape, np.int64) - 1
    in_dir = np.zeros(touched.shape, np.int64) - 2
    n_out = np.zeros(touched.shape, np.int64)
    n_in = np.zeros(touched.shape, np.int64)
    pos_out = np.searchsorted(touched, out_key)
    n_out[pos_out] = out_n
    out_dir[np.searchsorted(touched, tree[:, 0] * n_r + r_from)] = d
    pos_in = np.searchsorted(touched, in_key)
    n_in[pos_in] = in_n
    in_dir[np.searchsorted(touched, tree[:, 0] * n_r + r_to)] = d
    is_src = np.isin(touched, key_src[:, 0] * n_r + key_src[:, 1])
    is_local = np.isin(touched, key_local[:, 0] * n_r + key_local[:, 1])
    defaultable = ~is_src & ~is_local & (n_out == 1) & (n_in == 1) & (out_dir == in_dir)
    return np.bincount(touched[~defaultable] % n_r, minlength=n_r)
