"""`brainsim run CONFIG.toml`: build the network a config describes, simulate it, and save the
summary, the spike record and the plots."""

import importlib.metadata
import json
import math
import pathlib
import platform
import time

import jax
import numpy as np

from .. import SimulationResult, analysis, simulate
from ..io import save_result
from .build import build_network, keys
from .config import Config


def simulate_config(config: Config, *, progress: bool, record_all: bool = False):
    """Build and simulate `config`: `(network, result, timings)`, timings in s (`build`, and
    `simulate` including compilation). `record_all` keeps every population's spikes whatever
    `simulation.record` says (the mapping needs them)."""
    sim = config.values["simulation"]
    start = time.perf_counter()
    network = build_network(config)
    jax.block_until_ready(network)
    build_s = time.perf_counter() - start
    record = True if record_all or sim["record"] is None else tuple(sim["record"])
    start = time.perf_counter()
    try:
        result = simulate(
            network,
            sim["duration"],
            sim["dt"],
            key=keys(sim["seed"])[1],
            record_spikes=record,
            progress=progress,
            engine=sim["engine"],
        )
    except ValueError as err:  # e.g. engine = "fused" for a network it does not cover
        key = "engine" if "engine" in str(err) else "duration"
        raise config.error(("simulation", key), str(err)) from None
    jax.block_until_ready(result.final_state)
    return network, result, {"build": round(build_s, 3), "simulate": round(time.perf_counter() - start, 3)}


def run_config(config: Config, out: pathlib.Path, *, progress: bool = True) -> dict:
    """`brainsim run`: simulate `config` and write into `out`:

    - `summary.json`: rate (Hz), ISI CV and spike count per population, the run's settings,
      timings (s), library versions, the files written and the full config with defaults;
    - `result.npz`: the whole `SimulationResult` (spikes of the populations in
      `simulation.record`, spike counts per step, rates, final state), written by
      `bs.io.save_result` and read back by `load_result`;
    - the plots of `output.plots` (`summary.png`, `raster.png`, `rates.png`).

    **Returns:** the summary dict (as written).
    """
    network, result, timings = simulate_config(config, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    files = {"summary": "summary.json", "result": "result.npz"}
    save_result(result, out / files["result"])
    files["plots"] = write_plots(result, config.values["output"], out)
    summary = {
        "command": "run",
        "config": str(config.path),
        **run_facts(config, network, result),
        "timings_s": timings,
        "versions": versions(),
        "files": files,
        "resolved_config": config.values,
    }
    write_json(out / files["summary"], summary)
    return summary


def run_facts(config: Config, network, result: SimulationResult) -> dict:
    """Sizes, rates, ISI CVs and spike counts per population, and the simulation settings."""
    sim = config.values["simulation"]
    cv = {}
    for name in result.spike_counts:
        if name in result.spikes:
            record = result.spikes[name]
            cv[name] = _finite_or_none(analysis.isi_cv(record.times, record.indices))
        else:
            cv[name] = None
    return {
        "populations": network.population_sizes,
        "rates_hz": dict(result.rates),
        "cv_isi": cv,
        "spikes": {name: int(np.sum(counts)) for name, counts in result.spike_counts.items()},
        "duration_ms": sim["duration"],
        "dt_ms": sim["dt"],
        "seed": sim["seed"],
        "engine": sim["engine"],
    }


def write_plots(result: SimulationResult, output: dict, out: pathlib.Path) -> list[str]:
    """The PNGs that `output.plots` asks for; returns their file names."""
    import matplotlib.pyplot as plt

    kernel = analysis.RateKernel(output["rate_kernel"], output["rate_width"])
    files = []
    for plot in output["plots"]:
        file = f"{plot}.png"
        if plot == "summary":
            figure = analysis.plot_summary(result, kernel=kernel, path=out / file)
        else:
            if plot == "raster":
                ax = analysis.plot_raster(result)
            else:
                ax = analysis.plot_rates(result, kernel=kernel)
            figure = ax.figure
            figure.tight_layout()
            figure.savefig(out / file, dpi=120)
        plt.close(figure)
        files.append(file)
    return files


def versions() -> dict[str, str]:
    """Versions of Python, brainsim and the libraries that decide its numbers, and the device."""
    found = {"python": platform.python_version()}
    for package in ("brainsim", "jax", "jaxlib", "equinox", "diffrax", "numpy"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["device"] = str(jax.devices()[0].device_kind)
    return found


def write_json(path: pathlib.Path, data: dict) -> None:
    """`data` as indented JSON (NaN and infinities are not JSON: they must be `None` already)."""
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
