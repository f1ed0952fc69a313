r"""The cost model (reference section 2): traffic, energy and latency of a mapping.

Per spike count $s_i$ over $T$ steps of $dt$ ms, with $K_i$ the out-degree and
$D_i = \{core(j) : i \to j\}$:

- spikes $S = \sum_i s_i$; synaptic ops $Y = \sum_i s_i K_i$; messages $M = \sum_i s_i |D_i|$;
- unicast hops $H = \sum_i s_i \sum_{c \in D_i} |route(i, c)|$; multicast hops
  $H = \sum_i s_i |T_i|$ with $T_i$ the union of the routes (a set of directed links);
- router traversals $R = \sum_i s_i (|T_i| + 1)$ (multicast) or $\sum_i s_i \sum_c (|route| + 1)$;
- $E_\mathrm{dyn} = e_\mathrm{syn} Y + e_\mathrm{act} A + e_\mathrm{inact}(NT - A) + e_\mathrm{msg} M
  + e_x H_x + e_y H_y + e_\mathrm{rt} R$, $E_\mathrm{static} = (P_\mathrm{core} C + P_\mathrm{chip}
  n_\mathrm{chips}) T dt$;
- $T_\mathrm{step} = \max(\max_c T_\mathrm{core}, \max_l L_l / B, T_\mathrm{path}) + T_\mathrm{sync}$,
  evaluated on the mean per-step loads (a max-affine lower bound).
"""

from dataclasses import dataclass, field

import numpy as np
from jaxtyping import Float, Int

from ..result import SimulationResult
from .chips import ENERGY_TERMS, TIME_TERMS, Chip
from .constraints import CoreUsage, Violation, check_constraints, core_usage
from .network_graph import NeuronGraph, rates_from_spikes
from .route import core_router, hop_counts, route_links, router_table_entries


@dataclass(frozen=True)
class CostReport:
    """What a mapping costs. Counts are totals over the window; `*_per_s` divide by it.

    **Fields:**
    - `chip`, `delivery`: preset name and delivery semantics used.
    - `duration_ms`, `n_steps`, `dt_ms`: the window.
    - `window_source`: where the window and step came from: `"record"` (a simulation's
      `SimulationResult`), `"given"` (arguments) or `"assumed"` (1000 ms / 1 ms defaults).
    - `cores_used`, `routers_used`, `chips_used`.
    - `spikes`, `synaptic_ops`, `messages`: $S$, $Y$, $M$.
    - `spike_hops`: hops of the preset's delivery; `spike_hops_unicast`, `spike_hops_multicast`
      both; `hops_x`, `hops_y`, `hops_diag`: the preset's hops by direction.
    - `router_traversals`: $R$.
    - `max_link_load`, `mean_link_load`: spikes per second over the busiest / average used link.
    - `link_load`: dict `link id -> spikes` over the window (see `route.link_endpoints`).
    - `core_neurons`, `core_synaptic_ops`: arrays `(n_cores,)`.
    - `utilisation`: per constraint, the maximum over cores of used / limit.
    - `energy_j`, `energy_dynamic_j`, `energy_static_j`, `energy_breakdown_j`: joules over the window.
    - `latency_s`, `latency_breakdown_s`: per time step, seconds.
    - `violations`: list of `Violation`; `router_entries`: per router, or `None`.
    - `unknown_terms`: constants with no public value (their terms are 0 and missing).
    - `provenance`: tag of every constant used.
    """

    chip: str
    delivery: str
    duration_ms: float
    n_steps: int
    dt_ms: float
    cores_used: int
    routers_used: int
    chips_used: int
    spikes: float
    synaptic_ops: float
    messages: float
    spike_hops: float
    spike_hops_unicast: float
    spike_hops_multicast: float
    hops_x: float
    hops_y: float
    hops_diag: float
    router_traversals: float
    max_link_load: float
    mean_link_load: float
    energy_j: float
    energy_dynamic_j: float
    energy_static_j: float
    energy_breakdown_j: dict
    latency_s: float
    latency_breakdown_s: dict
    utilisation: dict
    violations: list
    unknown_terms: list
    provenance: dict
    link_load: dict = field(repr=False)
    core_neurons: np.ndarray = field(repr=False)
    core_synaptic_ops: np.ndarray = field(repr=False)
    router_entries: np.ndarray | None = field(repr=False, default=None)
    window_source: str = "given"

    @property
    def feasible(self) -> bool:
        return not self.violations

    def __repr__(self) -> str:
        status = "feasible" if self.feasible else f"{len(self.violations)} violations"
        return (
            f"CostReport({self.chip}, {self.delivery}, {self.duration_ms:g} ms at dt {self.dt_ms:g} ms "
            f"({self.window_source}): {self.cores_used} cores, {self.spikes:,.0f} spikes, "
            f"{self.spike_hops:,.0f} spike-hops, {self.energy_j:.3g} J, {self.latency_s:.3g} s per step, "
            f"{status})"
        )

    def per_second(self, name: str) -> float:
        """A count field divided by the window (per second)."""
        return float(getattr(self, name)) / (self.duration_ms * 1e-3)

    def to_dict(self, full: bool = False) -> dict:
        """JSON-serialisable dict (arrays and the link map only when `full`)."""
        out = {}
        for k, v in self.__dict__.items():
            if isinstance(v, np.ndarray):
                if full:
                    out[k] = v.tolist()
            elif k == "link_load":
                if full:
                    out[k] = {str(a): float(b) for a, b in v.items()}
            elif k == "violations":
                out[k] = [x.to_dict() for x in v]
            else:
                out[k] = v
        out["feasible"] = self.feasible
        return out


def _unicast_and_multicast(chip: Chip, src_r, dst_r, group, weight, n_links, n_groups):
    """Hop totals and link loads of routes `src_r -> dst_r` grouped into trees by `group`."""
    xy = chip.router_xy
    hx, hy, hd = hop_counts(chip, xy[src_r], xy[dst_r])
    route, link = route_links(chip, xy[src_r], xy[dst_r])
    uni_load = np.bincount(link, weights=weight[route], minlength=n_links)
    tree = np.unique(group[route] * n_links + link)
    t_group, t_link = tree // n_links, tree % n_links
    w_group = np.zeros(n_groups)
    w_group[group] = weight  # weight is per group (the neuron's spike count)
    mc_load = np.bincount(t_link, weights=w_group[t_group], minlength=n_links)
    d = t_link % 6
    dir_class = np.where((d == 0) | (d == 3), 0, np.where((d == 2) | (d == 5), 1, 2))
    mc_hops = np.bincount(dir_class, weights=w_group[t_group], minlength=3)
    tree_size = np.bincount(t_group, minlength=n_groups)
    return (hx, hy, hd), uni_load, mc_hops, mc_load, tree_size, w_group


def cost_report(
    graph: NeuronGraph,
    core_of: Int[np.ndarray, " n"],
    chip: Chip,
    *,
    record: SimulationResult | None = None,
    spike_counts: Float[np.ndarray, " m"] | None = None,
    duration_ms: float | None = None,
    dt_ms: float | None = None,
    check_router_tables: bool = True,
) -> CostReport:
    """Evaluate the cost model for an assignment of neurons to cores.

    **Arguments:**
    - `graph`: the network; `graph.rates` (Hz) give the spike counts when `spike_counts` is None
      ($s_i = r_i \\cdot$ `duration_ms` $\\cdot 10^{-3}$).
    - `core_of`: int array `(n_neurons,)`, the core of each neuron, in `[0, chip.n_cores)`.
    - `chip`: the platform.
    - `record`: the `SimulationResult` of a run of this network: the spike counts, the window
      (`record.duration`) and the time step (`record.dt`) are taken from it. Every population
      of `graph` must be in the run; spiking ones must have recorded spikes.
    - `spike_counts`: float array `(n_neurons,)`, spikes per neuron over the window (without
      `record`).
    - `duration_ms`: window length, ms, > 0 (without `record`).
    - `dt_ms`: time step, ms, > 0 (without `record`); the step count is
      `round(duration_ms / dt_ms)`. It sets the neuron-update energy and the per-step loads.
    - `check_router_tables`: also compute multicast router-table entries when the preset has
      a table limit.

    Without `record`, a window or step that is not given is *assumed* (1000 ms, 1 ms) and the
    report says so in `window_source`.

    **Returns:** a `CostReport`.
    """
    window_source = "given"
    if record is not None:
        if spike_counts is not None:
            raise ValueError("give `record` or `spike_counts`, not both: the record holds the counts.")
        for name, given, recorded in (
            ("duration_ms", duration_ms, record.duration),
            ("dt_ms", dt_ms, record.dt),
        ):
            if given is not None and not np.isclose(given, recorded):
                raise ValueError(f"`{name}` = {given} ms disagrees with the record's {recorded} ms; omit it.")
        duration_ms, dt_ms = float(record.duration), float(record.dt)
        spike_counts = _record_spike_counts(graph, record)
        window_source = "record"
    elif duration_ms is None or dt_ms is None:
        window_source = "assumed"
        duration_ms = 1000.0 if duration_ms is None else duration_ms
        dt_ms = 1.0 if dt_ms is None else dt_ms
    if not duration_ms > 0:
        raise ValueError(f"`duration_ms` must be > 0 ms; got {duration_ms!r}.")
    if not dt_ms > 0:
        raise ValueError(f"`dt_ms` must be > 0 ms; got {dt_ms!r}.")
    core_of = np.asarray(core_of, np.int64)
    if core_of.shape != (graph.n_neurons,):
        raise ValueError(f"`core_of` must have shape ({graph.n_neurons},); got {core_of.shape}.")
    if core_of.min() < 0 or core_of.max() >= chip.n_cores:
        raise ValueError(f"`core_of` must hold core indices in [0, {chip.n_cores}) for `{chip.name}`.")
    if spike_counts is None:
        s = graph.rates * duration_ms * 1e-3
    else:
        s = np.asarray(spike_counts, float)
        if s.shape != (graph.n_neurons,):
            raise ValueError(f"`spike_counts` must have shape ({graph.n_neurons},); got {s.shape}.")
    n_steps = max(int(round(duration_ms / dt_ms)), 1)
    n_cores = chip.n_cores
    usage: CoreUsage = core_usage(graph, core_of, chip)
    cr = core_router(chip)
    n_links = chip.width * chip.height * 6

    src_r = cr[core_of[usage.pair_pre]]
    dst_r = cr[usage.pair_core]
    w_pair = s[usage.pair_pre]
    (hx, hy, hd), uni_load, mc_hops, mc_load, tree_size, w_group = _unicast_and_multicast(
        chip, src_r, dst_r, usage.pair_pre, w_pair, n_links, graph.n_neurons
    )
    uni_hops = np.array([w_pair @ hx, w_pair @ hy, w_pair @ hd])
    has_targets = usage.targets > 0
    multicast = chip.delivery == "multicast"
    hops = mc_hops if multicast else uni_hops
    load = mc_load if multicast else uni_load
    if multicast:
        r_trav = float(s[has_targets] @ (tree_size[has_targets] + 1)) if has_targets.any() else 0.0
    else:
        r_trav = float(w_pair @ (hx + hy + hd + 1))

    spikes = float(s.sum())
    syn_ops_core = np.bincount(core_of[graph.post], weights=s[graph.pre], minlength=n_cores)
    syn_ops = float(syn_ops_core.sum())
    messages = float(w_pair.sum())
    active = spikes  # neuron-steps that spiked (at most one spike per neuron per step)
    n_total = graph.n_neurons * n_steps
    used = usage.neurons > 0
    routers_used = np.unique(cr[used]).size
    chips_used = routers_used if chip.router_is_chip else 1

    pj = 1e-12
    if chip.energy_mode == "all-in":
        breakdown = {"synaptic_ops": chip.e_syn.or_zero() * syn_ops * pj}
    else:
        breakdown = {
            "synaptic_ops": chip.e_syn.or_zero() * syn_ops * pj,
            "neuron_updates_active": chip.e_act.or_zero() * active * pj,
            "neuron_updates_inactive": chip.e_inact.or_zero() * max(n_total - active, 0.0) * pj,
            "messages": chip.e_msg.or_zero() * messages * pj,
            "hops_x": chip.e_x.or_zero() * (hops[0] + hops[2]) * pj,
            "hops_y": chip.e_y.or_zero() * hops[1] * pj,
            "router_traversals": chip.e_rt.or_zero() * r_trav * pj,
        }
    seconds = n_steps * dt_ms * 1e-3
    static = (
        0.0
        if chip.energy_mode == "all-in"
        else (chip.p_core.or_zero() * int(used.sum()) + chip.p_chip.or_zero() * chips_used) * seconds
    )
    e_dyn = float(sum(breakdown.values()))

    # latency per step on mean per-step loads (ns)
    ns = 1e-9
    a_core = np.bincount(core_of, weights=s, minlength=n_cores) / n_steps
    t_core = (
        chip.t_syn.or_zero() * syn_ops_core / n_steps
        + chip.t_act.or_zero() * a_core
        + chip.t_inact.or_zero() * np.maximum(usage.neurons - a_core, 0.0)
    )
    bw = chip.link_bandwidth.value
    t_link = (load.max() / n_steps / bw) if (bw and load.size) else 0.0
    fired = w_pair > 0
    t_path = (
        float(
            np.max(
                chip.t_local.or_zero()
                + chip.t_x.or_zero() * (hx + hd)[fired]
                + chip.t_y.or_zero() * hy[fired]
            )
        )
        if fired.any()
        else 0.0
    )
    if chip.fixed_step is not None:
        latency = {"fixed_step": chip.fixed_step.value * 1e-3}
        latency_s = chip.fixed_step.value * 1e-3
    else:
        latency = {
            "core": float(t_core.max()) * ns,
            "link": float(t_link) * ns,
            "path": t_path * ns,
            "sync": chip.barrier_ns(routers_used) * ns,
        }
        latency_s = max(latency["core"], latency["link"], latency["path"]) + latency["sync"]

    entries = None
    if chip.router_entries is not None and check_router_tables and usage.pair_pre.size:
        entries = router_table_entries(chip, core_of[usage.pair_pre], usage.pair_core)
    violations: list[Violation] = check_constraints(graph, core_of, chip, usage, entries)

    def ratio(used_arr, limit):
        return None if limit is None else float(np.max(used_arr) / limit.value)

    utilisation = {
        "neurons": ratio(usage.neurons, chip.neurons_per_core),
        "synapse_bits": ratio(usage.synapse_bits, chip.synapse_bits_per_core),
        "in_axons": ratio(usage.in_axons, chip.in_axons_per_core),
        "out_axons": ratio(usage.out_axons, chip.out_axons_per_core),
    }
    if entries is not None:
        utilisation["router_entries"] = float(entries.max() / chip.router_entries.value)
    used_terms = ["e_syn"] if chip.energy_mode == "all-in" else list(ENERGY_TERMS)
    if chip.fixed_step is None:
        used_terms += TIME_TERMS
    consts = chip.constants()
    nz = np.flatnonzero(load)
    return CostReport(
        chip=chip.name,
        delivery=chip.delivery,
        duration_ms=float(duration_ms),
        n_steps=n_steps,
        dt_ms=float(dt_ms),
        cores_used=int(used.sum()),
        routers_used=int(routers_used),
        chips_used=int(chips_used),
        spikes=spikes,
        synaptic_ops=syn_ops,
        messages=messages,
        spike_hops=float(hops.sum()),
        spike_hops_unicast=float(uni_hops.sum()),
        spike_hops_multicast=float(mc_hops.sum()),
        hops_x=float(hops[0]),
        hops_y=float(hops[1]),
        hops_diag=float(hops[2]),
        router_traversals=r_trav,
        max_link_load=float(load.max() / seconds) if load.size else 0.0,
        mean_link_load=float(load[nz].mean() / seconds) if nz.size else 0.0,
        energy_j=e_dyn + static,
        energy_dynamic_j=e_dyn,
        energy_static_j=float(static),
        energy_breakdown_j=breakdown,
        latency_s=float(latency_s),
        latency_breakdown_s=latency,
        utilisation=utilisation,
        violations=violations,
        unknown_terms=[t for t in used_terms if not consts[t].known],
        provenance={t: consts[t].tag for t in used_terms},
        link_load={int(k): float(load[k]) for k in nz},
        core_neurons=usage.neurons,
        core_synaptic_ops=syn_ops_core,
        router_entries=entries,
        window_source=window_source,
    )


def _record_spike_counts(graph: NeuronGraph, record: SimulationResult) -> np.ndarray:
    """Spikes per neuron (global order) in `record`, refusing populations it cannot account for."""
    sizes = record.population_sizes
    unknown = [p for p in graph.population_names if p not in sizes]
    if unknown:
        raise ValueError(
            f"`record` has no population {unknown} of the graph (it has {sorted(sizes)}): is it a run "
            "of this network?"
        )
    unrecorded = [p for p in graph.population_names if p in record.spike_counts and p not in record.spikes]
    if unrecorded:
        raise ValueError(
            f"`record` kept no spikes of {unrecorded}: simulate with `record_spikes=True` (or name them)."
        )
    return rates_from_spikes(graph, record) * (record.duration * 1e-3)
