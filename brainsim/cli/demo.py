"""`brainsim demo`: the COBA benchmark (N = 4,000, 1 s by default): build, compile, run,
summarise, plot. `make demo` runs it."""

import pathlib
import time

import jax
import jax.random as jr
import numpy as np

from .. import SimulationResult, analysis, models, simulate


def demo(n: int, duration: float, out: pathlib.Path, seed: int) -> dict:
    """COBA benchmark network: build, compile, run, summarise, plot.

    **Arguments:**
    - `n`: neurons (>= 5; 80% `E`, 20% `I`).
    - `duration`: simulated time, ms; a multiple of 0.1 ms.
    - `out`: directory for `coba_raster.png`.
    - `seed`: the network is built with `k1` and simulated with `k2`, where
      `k1, k2 = jax.random.split(jax.random.key(seed))`.

    **Returns:** a dict: `n`, `duration_ms`, `rate_hz` (all neurons), `rates_hz` (per
    population), `cv_isi`, `build_s`, `compile_s`, `run_s`. The run is done twice, so that
    `compile_s` (first call minus second) and `run_s` (second call) are apart.
    """
    key_net, key_sim = jr.split(jr.key(seed))
    start = time.perf_counter()
    network = models.COBANetwork(n=n, key=key_net)
    jax.block_until_ready(network)
    build_s = time.perf_counter() - start

    def run():  # compile on the first call; the second call reuses the compiled chunk
        start = time.perf_counter()
        result = simulate(network, duration, 0.1, key=key_sim, progress=False)
        jax.block_until_ready(result.final_state)
        return result, time.perf_counter() - start

    _, first_s = run()
    result, run_s = run()

    times, indices = _global_spikes(result)
    summary = {
        "n": n,
        "duration_ms": duration,
        "rate_hz": float(len(times) / (n * duration * 1e-3)),
        "rates_hz": {name: round(rate, 3) for name, rate in result.rates.items()},
        "cv_isi": analysis.isi_cv(times, indices),
        "build_s": round(build_s, 3),
        "compile_s": round(max(first_s - run_s, 0.0), 3),
        "run_s": round(run_s, 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    figure = analysis.plot_summary(result, path=out / "coba_raster.png")
    _close(figure)
    return summary


def print_summary(summary: dict, out: pathlib.Path) -> None:
    """One line per figure, the per-population rates one line each (`rate_hz[E]`)."""
    for name, value in summary.items():
        if name == "rates_hz":
            for population, rate in value.items():
                print(f"{f'rate_hz[{population}]':>12}: {rate}")
        else:
            print(f"{name:>12}: {value}")
    print(f"{'plot':>12}: {out / 'coba_raster.png'}")


def _global_spikes(result: SimulationResult) -> tuple[np.ndarray, np.ndarray]:
    """All populations' spikes with neuron indices offset to one global numbering."""
    names = list(result.spikes)
    offsets = np.cumsum([0] + [result.population_sizes[k] for k in names])[:-1]
    times = np.concatenate([result.spikes[k].times for k in names])
    indices = np.concatenate([result.spikes[k].indices + o for k, o in zip(names, offsets, strict=True)])
    return times, indices


def _close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)
