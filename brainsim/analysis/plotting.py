"""Plots one call away: spike rasters, population rates, state traces.

matplotlib is imported inside each function, so `import brainsim` does not load it."""

import numpy as np


def plot_raster(result, populations=None, *, ax=None, max_neurons: int = 500, markersize=1.0):
    """Spike raster of `result` (a `SimulationResult`): one colour per population, neurons
    stacked; at most `max_neurons` per population are drawn. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 4))[1]
    offset = 0
    spikes = result.spikes
    for name in populations or list(spikes):
        record = spikes[name]
        shown = record.indices < max_neurons
        ax.plot(record.times[shown], record.indices[shown] + offset, ".", ms=markersize, label=name)
        offset += min(result.population_sizes[name], max_neurons)
    ax.set(
        xlabel="time (ms)",
        ylabel="neuron",
        xlim=(result.start_time, result.start_time + result.duration),
    )
    ax.legend(loc="upper right", markerscale=8)
    return ax


def plot_rates(result, populations=None, *, bin_ms: float = 5.0, ax=None):
    """Population firing rates (Hz) in bins of `bin_ms`. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 2.5))[1]
    for name in populations or list(result.spike_counts):
        times, rate = result.population_rate(name, bin_ms)
        ax.plot(times, rate, label=name)
    ax.set(xlabel="time (ms)", ylabel="rate (Hz)")
    ax.legend(loc="upper right")
    return ax


def plot_traces(result, name: str, *, ax=None, max_traces: int = 10, unit: str = "mV"):
    """The traces of monitor `name` (e.g. `"E.v"`), at most `max_traces` of them."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(8, 2.5))[1]
    values = np.asarray(result.traces[name])
    ax.plot(result.trace_times(name), values[:, :max_traces], lw=0.8)
    ax.set(xlabel="time (ms)", ylabel=f"{name} ({unit})")
    return ax


def plot_summary(result, *, bin_ms: float = 5.0, path=None):
    """Raster above population rates in one figure; saved to `path` if given. Returns it."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    plot_raster(result, ax=top)
    plot_rates(result, bin_ms=bin_ms, ax=bottom)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
