"""Reports and plots of a mapping: a JSON-serialisable dict and mesh heatmaps, one call each."""

import json

import numpy as np

from ..result import SimulationResult
from .cost import CostReport, cost_report
from .mapping import Mapping
from .network_graph import NeuronGraph
from .route import hop_counts, link_endpoints


def population_traffic(graph: NeuronGraph, mapping: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Per (source population, target population): messages/s and unicast spike-hops/s.

    **Returns:** `(messages, spike_hops)`, float arrays `(n_populations, n_populations)`."""
    n_pop = len(graph.population_names)
    core = mapping.core_of
    xy = mapping.chip.core_xy
    # one message per (neuron, destination core), shared among the target populations on that
    # core in proportion to their synapses, so the matrix sums to the cost model's totals
    pair_all = graph.pre * mapping.chip.n_cores + core[graph.post]
    key, n_syn = np.unique(pair_all * n_pop + graph.population[graph.post], return_counts=True)
    tpop = key % n_pop
    pair = key // n_pop
    _, inv = np.unique(pair, return_inverse=True)
    share = n_syn / np.bincount(inv, weights=n_syn)[inv]
    u, c = pair // mapping.chip.n_cores, pair % mapping.chip.n_cores
    hx, hy, hd = hop_counts(mapping.chip, xy[core[u]], xy[c])
    idx = graph.population[u] * n_pop + tpop
    w = graph.rates[u] * share
    msgs = np.bincount(idx, weights=w, minlength=n_pop * n_pop).reshape(n_pop, n_pop)
    hops = np.bincount(idx, weights=w * (hx + hy + hd), minlength=n_pop * n_pop).reshape(n_pop, n_pop)
    return msgs, hops


def mapping_report(
    graph: NeuronGraph,
    mapping: Mapping,
    cost: CostReport | None = None,
    *,
    record: SimulationResult | None = None,
    full: bool = False,
) -> dict:
    """Everything about a mapping as a JSON-serialisable dict.

    **Arguments:**
    - `graph`: the network; `mapping`: its mapping.
    - `cost`: a `CostReport`; when omitted it is computed with `cost_report`, from `record`
      (the run's spike counts, duration and `dt`) if given, else from the graph's rates over
      an assumed 1 s window at 1 ms steps (the report's `cost.window_source` says which).
    - `record`: a `SimulationResult` of the network (only when `cost` is omitted).
    - `full`: include per-core and per-link arrays.

    **Returns:** dict with `chip`, `mapper`, `seconds`, `cores_used`, `feasible`,
    `violations`, `notes`, `cost`, `population_traffic` and `provenance` (every constant's
    value, unit, source and tag).
    """
    if cost is None:
        cost = cost_report(graph, mapping.core_of, mapping.chip, record=record)
    elif record is not None:
        raise ValueError("give `cost` or `record`, not both: `cost` already fixes the window.")
    msgs, hops = population_traffic(graph, mapping)
    out = {
        "chip": mapping.chip.name,
        "mapper": mapping.mapper,
        "seconds": mapping.seconds,
        "cores_used": mapping.n_cores_used,
        "feasible": mapping.feasible,
        "violations": [v.to_dict() for v in mapping.violations[:100]],
        "notes": list(mapping.notes),
        "chip_notes": list(mapping.chip.notes),
        "cost": cost.to_dict(full=full),
        "population_traffic": {
            "populations": list(graph.population_names),
            "messages_per_s": msgs.tolist(),
            "spike_hops_per_s": hops.tolist(),
        },
        "provenance": mapping.chip.provenance(),
    }
    json.dumps(out)  # fail here, not in the caller, if anything is not serialisable
    return out


def _grid(chip, values_per_router):
    img = np.full((chip.height, chip.width), np.nan)
    xy = chip.router_xy
    img[xy[:, 1], xy[:, 0]] = values_per_router
    return img


def _say_empty(ax, message: str) -> None:
    """Write why a plot is empty in the middle of `ax`."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.3", wrap=True)


def _no_traffic_reason(cores_used: int, spikes: float) -> str:
    """Why a mapping has no inter-core traffic."""
    if spikes == 0:
        return "no inter-core traffic: no neuron spikes (all rates 0 Hz)"
    if cores_used <= 1:
        return "no inter-core traffic: all synapses on one core"
    return "no inter-core traffic: every synapse's target is on its source's core"


def plot_core_load(mapping: Mapping, cost: CostReport, *, quantity: str = "synaptic_ops", ax=None):
    """Chip heatmap: per router, `"synaptic_ops"` (per second over the report's window) or
    `"neurons"`. Routers without cores are blank (NaN); an all-zero map says why.

    **Returns:** the matplotlib `Axes`."""
    import matplotlib.pyplot as plt

    if quantity not in ("synaptic_ops", "neurons"):
        raise ValueError(f"`quantity` must be 'synaptic_ops' or 'neurons'; got {quantity!r}.")
    chip = mapping.chip
    per_core = (
        cost.core_synaptic_ops / (cost.duration_ms * 1e-3)
        if quantity == "synaptic_ops"
        else cost.core_neurons
    )
    per_router = per_core.reshape(-1, chip.cores_per_router).sum(1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    im = ax.imshow(_grid(chip, per_router), origin="lower", cmap="viridis")
    ax.figure.colorbar(im, ax=ax, label="synaptic ops / s" if quantity == "synaptic_ops" else "neurons")
    window = (
        f" ({cost.duration_ms:g} ms, dt {cost.dt_ms:g} ms, {cost.window_source})"
        if quantity == "synaptic_ops"
        else ""
    )
    ax.set(xlabel="x (router)", ylabel="y (router)", title=f"{chip.name}: {quantity} per router{window}")
    if not np.any(per_router):
        _say_empty(
            ax,
            "no synaptic events: no spikes in the window"
            if cost.spikes == 0
            else "no synaptic events: the spiking neurons have no synapses",
        )
    return ax


def plot_link_load(mapping: Mapping, cost: CostReport, *, ax=None):
    """Every used link as an arrow-free segment coloured by its load (spikes/s); with no used
    link the axes say why.

    **Returns:** the matplotlib `Axes`."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    chip = mapping.chip
    links = np.array(sorted(cost.link_load), np.int64)
    load = np.array([cost.link_load[k] for k in links]) / (cost.duration_ms * 1e-3)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    if links.size:
        src, dst = link_endpoints(chip, links)
        # offset the two directions of a link so both stay visible
        normal = np.stack([-(dst - src)[:, 1], (dst - src)[:, 0]], 1) * 0.08
        segs = np.stack([src + normal, dst + normal], 1).astype(float)
        lc = LineCollection(segs, array=load, cmap="inferno", linewidths=2.0)
        ax.add_collection(lc)
        ax.figure.colorbar(lc, ax=ax, label="spikes / s")
    else:
        _say_empty(ax, _no_traffic_reason(cost.cores_used, cost.spikes))
    xy = chip.router_xy
    ax.scatter(xy[:, 0], xy[:, 1], s=4, c="grey")
    ax.set(xlabel="x (router)", ylabel="y (router)", title=f"{chip.name}: link load", aspect="equal")
    return ax


def plot_population_traffic(graph: NeuronGraph, mapping: Mapping, *, ax=None):
    """Heatmap of unicast spike-hops/s per (source, target) population pair (from the graph's
    rates); an all-zero map says why.

    **Returns:** the matplotlib `Axes`."""
    import matplotlib.pyplot as plt

    _, hops = population_traffic(graph, mapping)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    im = ax.imshow(hops, cmap="magma")
    names = graph.population_names
    title = "traffic per population pair"
    if len(names) <= 20:
        ax.set_xticks(range(len(names)), names, rotation=90)
        ax.set_yticks(range(len(names)), names)
    else:
        title += f"\n({len(names)} populations: names not shown)"
    ax.figure.colorbar(im, ax=ax, label="spike-hops / s")
    ax.set(xlabel="target population", ylabel="source population", title=title)
    if not np.any(hops):
        _say_empty(ax, _no_traffic_reason(mapping.n_cores_used, float(graph.rates.sum())))
    return ax
