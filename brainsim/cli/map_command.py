"""`brainsim map CONFIG.toml --chip loihi`: simulate the config's network for
`simulation.duration`, map it onto a chip preset at the measured rates, and write the mapping
report (text and JSON) and the chip-load heatmaps."""

import pathlib

from .. import hardware
from .config import Config
from .run_command import run_facts, simulate_config, versions, write_json


def map_config(config: Config, out: pathlib.Path, *, progress: bool = True) -> dict:
    """`brainsim map`: write into `out`:

    - `mapping.json`: `bs.hardware.mapping_report` (chip, mapper, cores used, feasibility,
      violations, cost per 1 s of activity at the measured rates, traffic between populations,
      provenance of every constant), with the run's rates, timings and versions;
    - `mapping.txt`: the main numbers, one per line;
    - `core_load.png`: per router of the chip, synaptic operations per second and neurons.

    The chip, mapper and mapper seed come from `[hardware]` (`--chip`/`--mapper` override
    them). Raises `bs.hardware.InfeasibleMappingError` if no core count fits the network.

    **Returns:** the JSON report (as written).
    """
    settings = config.values["hardware"]
    network, result, timings = simulate_config(config, progress=progress, record_all=True)
    graph = hardware.from_network(network, rates=hardware.rates_from_spikes(network.synapse_graph(), result))
    chip = hardware.chip_preset(settings["chip"])
    mapping = hardware.map_network(graph, chip, settings["mapper"], seed=settings["seed"])
    cost = hardware.cost_report(graph, mapping.core_of, mapping.chip)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report": "mapping.json", "text": "mapping.txt", "heatmap": "core_load.png"}
    _plot_core_load(mapping, cost, out / files["heatmap"])
    facts = run_facts(config, network, result)
    report = {
        "command": "map",
        "config": str(config.path),
        "mapper_seed": settings["seed"],
        "simulation": facts,
        "timings_s": {**timings, "map": round(mapping.seconds, 3)},
        "versions": versions(),
        "files": files,
        **hardware.mapping_report(graph, mapping, cost),
    }
    write_json(out / files["report"], report)
    (out / files["text"]).write_text(text_report(report, int(graph.pre.size)), encoding="utf-8")
    return report


def text_report(report: dict, n_synapses: int) -> str:
    """The main numbers of a `map_config` report, one per line."""
    cost, facts = report["cost"], report["simulation"]
    rates = ", ".join(f"{name} {rate:.2f} Hz" for name, rate in facts["rates_hz"].items())
    utilisation = ", ".join(
        f"{name} {'n/a' if value is None else format(value, '.2f')}"
        for name, value in cost["utilisation"].items()
    )
    window = cost["duration_ms"] * 1e-3
    lines = [
        f"chip: {report['chip']} (mapper {report['mapper']}, seed {report['mapper_seed']})",
        f"network: {sum(facts['populations'].values())} neurons, {n_synapses} synapses; "
        + ", ".join(f"{name} {n}" for name, n in facts["populations"].items()),
        f"rates (simulated {facts['duration_ms']:g} ms at dt {facts['dt_ms']:g} ms): {rates}",
        f"cores used: {report['cores_used']}; feasible: {'yes' if report['feasible'] else 'no'}",
        f"violations: {len(cost['violations'])}"
        + (" (the check lists at most 100)" if len(cost["violations"]) >= 100 else "")
        + "".join(
            f"\n  - {v['constraint']} at {v['where']}: {v['used']} > limit {v['limit']}"
            for v in cost["violations"][:10]
        ),
        f"spikes per s: {cost['spikes'] / window:.4g}",
        f"synaptic ops per s: {cost['synaptic_ops'] / window:.4g}",
        f"messages per s: {cost['messages'] / window:.4g}",
        f"spike hops per s: {cost['spike_hops'] / window:.4g}",
        f"max link load: {cost['max_link_load']:.4g} spikes/s",
        f"energy per s of activity: {cost['energy_j'] / window:.4g} J",
        f"latency per step: {cost['latency_s']:.4g} s",
        f"worst-core utilisation: {utilisation}",
        f"constants with no public value: {', '.join(cost['unknown_terms']) or 'none'}",
    ]
    return "\n".join(lines) + "\n"


def _plot_core_load(mapping, cost, path: pathlib.Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    hardware.plot_core_load(mapping, cost, quantity="synaptic_ops", ax=axes[0])
    hardware.plot_core_load(mapping, cost, quantity="neurons", ax=axes[1])
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
