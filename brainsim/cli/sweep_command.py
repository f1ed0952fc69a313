"""`brainsim sweep CONFIG.toml`: run the grid of the config's `[sweep]` table through
`bs.sweep` and write the table, a summary and heatmaps.

Point `k` of the grid is the config with each key path of `[sweep] parameters` set to its
value at `k` (every combination, the last path varying fastest), validated like the file and
built by `build_network`; `bs.sweep` groups the points whose networks have the same shapes and
compiles once per group. Point `k` is simulated with the key `bs.sweep.point_key(k2, k)`, where
`k1, k2 = jax.random.split(jax.random.key(simulation.seed))` and the network is built with
`k1` (of the point's own `simulation.seed` if that is swept).
"""

import csv
import math
import pathlib
import time
from collections.abc import Callable

import numpy as np

from .. import SimulationResult, analysis
from ..sweep import SweepError, SweepResult, sweep
from .build import build_network, keys
from .config import Config, element_index, sweep_label
from .run_command import versions, write_json
from .schema import SCHEMA, ConfigError

_METRIC_UNITS = {"rate": "Hz", "cv": "ISI CV", "synchrony": "Golomb's χ"}
_NEURON_UNITS = {
    "c_m": "pF",
    "t_ref": "ms",
    "slope_factor": "mV",
    "threshold_increment": "mV",
    "adaptation_conductance": "nS",
    "adaptation_increment": "pA",
}
_PREFIX_UNITS = (("tau_", "ms"), ("g_", "nS"), ("e_", "mV"), ("v_", "mV"))


def sweep_config(config: Config, out: pathlib.Path, *, progress: bool = True) -> dict:
    """`brainsim sweep`: run the grid of `config`'s `[sweep]` table and write into `out`:

    - `sweep.csv`: one row per point, in grid order: `point`, one column per key path (its
      value at that point) and one per metric;
    - `summary.json`: the grid, the metrics, compilations and the parameters that changed a
      shape (hence grouped the points), timings (s), the key of each point, versions, the
      files written and the full config with defaults;
    - when exactly two key paths take more than one value, `heatmap_<metric>.png` per metric
      (the first path on the vertical axis, the second on the horizontal one).

    If a point fails (its network does not build, its state becomes NaN/Inf, a metric fails),
    the points completed before it are still written and the `SweepError` is raised.

    **Returns:** the summary dict (as written).
    """
    spec = config.values["sweep"]
    if spec is None:
        raise ConfigError(
            f"{config.path}: no [sweep] table: `brainsim sweep` runs a grid, e.g. `[sweep.parameters]` "
            'with `"network.w_inh" = [20.0, 40.0]` (see docs/cli.md); `brainsim run` simulates the '
            "config as it is."
        )
    grid: dict[str, list] = spec["parameters"]
    paths = list(grid)
    sim = config.values["simulation"]
    engine = spec["engine"] or sim["engine"]

    def build(**indices):
        assignments = []
        for i, path in enumerate(paths):
            index = indices[f"p{i}"]
            value = grid[path][index]
            assignments.append((path, value, sweep_label(config, path, index, value)))
        return build_network(config.with_assignments(assignments))

    metrics, record = metric_functions(spec["metrics"], spec["synchrony_bin"])
    start = time.perf_counter()
    failure = None
    try:
        result = sweep(
            build,
            {f"p{i}": list(range(len(grid[path]))) for i, path in enumerate(paths)},
            duration=sim["duration"],
            dt=sim["dt"],
            key=keys(sim["seed"])[1],
            metrics=metrics,
            record_spikes=record,
            batch_size=spec["batch_size"],
            engine=engine,
            progress=progress,
        )
    except SweepError as err:
        failure, result = _readable(err, paths, grid, out / "sweep.csv"), err.result
    except ValueError as err:  # e.g. engine = "fused" for a network it does not cover
        if "engine" not in str(err):
            raise
        where = ("sweep", "engine") if spec["engine"] else ("simulation", "engine")
        raise config.error(where, str(err)) from None
    seconds = time.perf_counter() - start

    out.mkdir(parents=True, exist_ok=True)
    rows = table_rows(result, grid)
    files = {"table": "sweep.csv", "summary": "summary.json", "heatmaps": []}
    write_table(rows, ["point", *paths, *spec["metrics"]], out / files["table"])
    varying = [path for path in paths if len(grid[path]) > 1]
    if failure is None and len(varying) == 2:
        for metric in spec["metrics"]:
            file = f"heatmap_{metric}.png"
            plot_heatmap(config, rows, varying, metric, out / file)
            files["heatmaps"].append(file)
    summary = {
        "command": "sweep",
        "config": str(config.path),
        "points": math.prod(len(v) for v in grid.values()),
        "completed": len(rows),
        "parameters": grid,
        "units": {path: parameter_unit(config, path) for path in paths},
        "metrics": spec["metrics"],
        "compilations": result.compilations,
        "shape_parameters": [paths[int(name[1:])] for name in result.shape_parameters],
        "duration_ms": sim["duration"],
        "dt_ms": sim["dt"],
        "seed": sim["seed"],
        "engine": engine,
        "batch_size": spec["batch_size"],
        "keys": "network: k1; point k: bs.sweep.point_key(k2, k) = jax.random.fold_in(k2, k); "
        "k1, k2 = jax.random.split(jax.random.key(simulation.seed))",
        "timings_s": {"sweep": round(seconds, 3), "compile": round(result.compile_seconds, 3)},
        "versions": versions(),
        "files": files,
        "error": None if failure is None else str(failure),
        "resolved_config": config.values,
    }
    write_json(out / files["summary"], summary)
    if failure is not None:
        raise failure
    return summary


def _readable(error: SweepError, paths: list[str], grid: dict, table: pathlib.Path) -> SweepError:
    """`error` with the point's key paths and values instead of `bs.sweep`'s value indices."""
    params = {paths[int(name[1:])]: grid[paths[int(name[1:])]][i] for name, i in error.params.items()}
    internal = ", ".join(f"{n}={v!r:.40}" for n, v in error.params.items())
    shown = ", ".join(f"{path} = {value!r}" for path, value in params.items())
    message = str(error).replace(f"({internal})", f"({shown})", 1)
    message = message.replace("are in `error.result`", f"are written to {table}")
    cause = str(error.__cause__)
    if cause.endswith("."):
        message = message.replace(f"{cause}. The ", f"{cause} The ", 1)
    readable = SweepError(message, error.result, error.point, params)
    readable.__cause__ = error.__cause__
    return readable


def metric_functions(
    names: list[str], bin_ms: float
) -> tuple[dict[str, Callable[[SimulationResult], float]], bool | tuple[str, ...]]:
    """The `[sweep] metrics` as functions of a point's `SimulationResult`, and the populations
    whose spikes they need (`record_spikes` of `bs.sweep`: `True` for all, `False` for none).

    `rate`: spikes per neuron per second over all neurons, Hz; `cv`: `bs.analysis.isi_cv`
    (mean ISI CV over neurons with 3 spikes or more; NaN if none); `synchrony`:
    `bs.analysis.synchrony_chi` of spike counts in bins of `bin_ms` (NaN if no neuron spiked);
    without a suffix over all neurons, with `_<population>` over that population.
    """
    functions: dict[str, Callable[[SimulationResult], float]] = {}
    needed: set[str] = set()
    everything = False
    for name in names:
        kind, _, population = name.partition("_")
        if kind == "rate":
            functions[name] = (lambda r, p=population: r.rates[p]) if population else _rate
            continue
        if population:
            needed.add(population)
        else:
            everything = True
        if kind == "cv":
            functions[name] = lambda r, p=population: analysis.isi_cv(_trains(r, p))
        else:
            functions[name] = lambda r, p=population: analysis.synchrony_chi(_trains(r, p), bin_ms=bin_ms)
    record = True if everything else tuple(sorted(needed)) if needed else False
    return functions, record


def _rate(result: SimulationResult) -> float:
    sizes = result.population_sizes
    spikes = sum(result.rates[name] * sizes[name] for name in result.rates)
    return float(spikes / sum(sizes[name] for name in result.rates))


def _trains(result: SimulationResult, population: str) -> analysis.SpikeTrains:
    """One population's spikes, or (`population == ""`) every recorded population's, numbered
    one after the other."""
    if population:
        return analysis.spike_trains(result, population)
    names = list(result.spikes)
    sizes = [result.population_sizes[name] for name in names]
    offsets = np.cumsum([0, *sizes])[:-1]
    times = [np.asarray(result.spikes[name].times) for name in names]
    indices = [np.asarray(result.spikes[name].indices) + o for name, o in zip(names, offsets, strict=True)]
    return analysis.SpikeTrains(
        np.concatenate(times) if times else np.zeros(0),
        np.concatenate(indices) if indices else np.zeros(0, np.int64),
        n=int(sum(sizes)),
        t_start=result.start_time,
        t_stop=result.start_time + result.duration,
        dt=result.dt,
    )


def table_rows(result: SweepResult, grid: dict[str, list]) -> list[dict]:
    """The rows of `sweep.csv`, in point order: `point`, the value of each key path, the metrics."""
    paths = list(grid)
    rows = []
    for record in sorted(result.records, key=lambda r: r["point"]):
        row = {"point": record["point"]}
        row.update({path: grid[path][record[f"p{i}"]] for i, path in enumerate(paths)})
        row.update({name: record[name] for name in result.metrics})
        rows.append(row)
    return rows


def write_table(rows: list[dict], columns: list[str], path: pathlib.Path) -> None:
    """`rows` (dicts with keys `columns`) as CSV: a header, then one line per row (NaN as
    `nan`, floats with all their digits), readable by pandas and any spreadsheet."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def parameter_unit(config: Config, path: str) -> str:
    """The unit of the key at `path` (`"nS"` for a `COBA` weight, `""` for a count), for labels."""
    parts = path.split(".")
    table = next((t for t in SCHEMA if t.name == parts[0]), None)
    if table is None or len(parts) < 2:
        return ""
    spec = config.values[table.name]
    if table.array:
        index = element_index(config.source.get(table.name, []), parts[1])
        if index is None or len(parts) < 3:
            return ""
        spec, parts = config.values[table.name][index], parts[1:]
    name = parts[1]
    if name == "parameters" and len(parts) > 2:
        parameter = parts[2]
        unit = _NEURON_UNITS.get(parameter)
        return unit or next((u for prefix, u in _PREFIX_UNITS if parameter.startswith(prefix)), "")
    if name in ("w_exc", "w_inh"):
        return "pA" if spec["model"] == "cuba" else "nS"
    if name == "weight":
        return {"COBA": "nS", "CUBA": "pA"}.get(spec.get("output"), "")
    key = next((k for k in table.keys if k.name == name), None)
    return key.unit if key is not None else ""


def _label(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def plot_heatmap(
    config: Config, rows: list[dict], varying: list[str], metric: str, path: pathlib.Path
) -> None:
    """Metric `metric` over the two varying key paths: `varying[0]` on the vertical axis,
    `varying[1]` on the horizontal one, each value a cell (annotated when there are at most
    144 cells), NaN left blank."""
    from matplotlib.figure import Figure  # Agg, without pyplot's global state

    grid = config.values["sweep"]["parameters"]
    y_values, x_values = grid[varying[0]], grid[varying[1]]
    values = np.full((len(y_values), len(x_values)), np.nan)
    for row in rows:
        i = _position(y_values, row[varying[0]])
        j = _position(x_values, row[varying[1]])
        values[i, j] = row[metric]
    figure = Figure(figsize=(1.2 + 0.8 * max(len(x_values), 4), 1.0 + 0.6 * max(len(y_values), 4)))
    ax = figure.subplots()
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, origin="lower", aspect="auto", cmap="viridis")
    kind = metric.partition("_")[0]
    figure.colorbar(image, ax=ax, label=_label(metric, _METRIC_UNITS[kind]))
    ax.set_xticks(range(len(x_values)), [f"{v:g}" if _number(v) else str(v) for v in x_values])
    ax.set_yticks(range(len(y_values)), [f"{v:g}" if _number(v) else str(v) for v in y_values])
    ax.set_xlabel(_label(varying[1], parameter_unit(config, varying[1])))
    ax.set_ylabel(_label(varying[0], parameter_unit(config, varying[0])))
    ax.set_title(f"{metric} ({config.path.name})")
    if values.size <= 144 and masked.count():
        low, high = float(masked.min()), float(masked.max())
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                light = high > low and (value - low) / (high - low) < 0.5
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8,
                        color="white" if light else "black")  # fmt: skip
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _position(values: list, value) -> int:
    return next(i for i, v in enumerate(values) if type(v) is type(value) and v == value)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
