"""Plots one call away: rasters, time-resolved rates, traces, ISI histograms, phase planes.

Every helper returns its matplotlib `Axes` (`plot_summary` its `Figure`) and never hides data
silently: what is left out is said in the title, and an empty plot says why in the axes.
matplotlib is imported inside each function, so `import brainsim` does not load it.
"""

import numpy as np

from ..result import SimulationResult
from .intervals import interspike_intervals, isi_cv
from .phase_plane import PhasePlane
from .rates import RateKernel, population_rate
from .spike_trains import SpikesLike, SpikeTrains, spike_trains

BAND_MODES = ("proportional", "equal")
DEFAULT_KERNEL = RateKernel("gaussian", 5.0)
"""The rate plots' default: a Gaussian of sigma = 5 ms."""


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def _say_empty(ax, message: str) -> None:
    """Write why a plot is empty in the middle of `ax` (axes coordinates)."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.3")


def _populations(source, populations) -> dict[str, SpikeTrains]:
    """`{name: SpikeTrains}` from a `SimulationResult` (its spiking populations) or a dict."""
    if isinstance(source, SimulationResult):
        names = list(source.spike_steps) if populations is None else list(populations)
        return {name: spike_trains(source, name) for name in names}
    names = list(source) if populations is None else list(populations)
    return {name: spike_trains(source[name]) for name in names}


def shown_neurons(n: int, max_neurons: int) -> np.ndarray:
    """The neurons a raster draws: all of `n`, or `max_neurons` evenly spaced over `0 .. n-1`."""
    if n <= max_neurons:
        return np.arange(n)
    return np.round(np.linspace(0, n - 1, max_neurons)).astype(np.int64)


def plot_raster(
    source: SimulationResult | dict,
    populations: list[str] | tuple[str, ...] | None = None,
    *,
    ax=None,
    max_neurons: int = 500,
    bands: str = "proportional",
    markersize: float = 1.0,
):
    """Spike raster, one band per population with its name on the y axis.

    **Arguments:**
    - `source`: a `SimulationResult`, or a dict `{name: spikes}` (see `spike_trains`; each
      needs its size `n`).
    - `populations`: which to draw, top to bottom in the order given; default all recorded.
    - `max_neurons`: at most this many neurons per population are drawn, evenly spaced over
      the population, each at its own index (so the band still spans the whole population).
      The title says how many of how many were drawn.
    - `bands`: `"proportional"` (each band as tall as its population) or `"equal"`.

    **Returns:** the `Axes`; one line artist per population, whose points are its drawn spikes.
    """
    if bands not in BAND_MODES:
        raise ValueError(f"`bands` must be one of {BAND_MODES}; got {bands!r}.")
    if max_neurons < 1:
        raise ValueError(f"`max_neurons` must be >= 1; got {max_neurons!r}.")
    ax = _axes(ax, (8, 4))
    trains = _populations(source, populations)
    sizes = {name: t.size() for name, t in trains.items()}
    height = {name: float(n if bands == "proportional" else max(sizes.values())) for name, n in sizes.items()}
    top = sum(height.values())
    centres, labels, notes, total = [], [], [], 0
    for k, (name, t) in enumerate(trains.items()):  # a loop over populations
        offset = top - sum(list(height.values())[: k + 1])  # first population on top
        n = sizes[name]
        kept = shown_neurons(n, max_neurons)
        drawn = np.isin(t.indices, kept)
        y = offset + (t.indices[drawn] + 0.5) * height[name] / n
        ax.plot(t.times[drawn], y, ".", ms=markersize, color=f"C{k}", label=name)
        total += int(drawn.sum())
        centres.append(offset + height[name] / 2)
        labels.append(name if t.n_spikes else f"{name}\n(no spikes)")
        notes.append(f"{name} {kept.size} of {n}" if kept.size < n else f"{name} all {n}")
        if k:
            ax.axhline(offset + height[name], color="0.6", lw=0.5)
    subsampled = any(" of " in note for note in notes)
    title = "neurons shown: " + ", ".join(notes) + (" (evenly spaced)" if subsampled else "")
    ax.set_title(title, fontsize=9)
    ax.set_yticks(centres, labels)
    ax.set_ylim(0, top if top > 0 else 1)
    windows = [t.window() for t in trains.values() if t.t_start is not None and t.t_stop is not None]
    if windows:
        ax.set_xlim(min(w[0] for w in windows), max(w[1] for w in windows))
    ax.set(
        xlabel="time (ms)",
        ylabel="population" + (" (bands ∝ size)" if bands == "proportional" else " (equal bands)"),
    )
    if total == 0:
        _say_empty(ax, "no spikes recorded" if trains else "no spiking population recorded")
    return ax


def plot_rates(
    source: SimulationResult | dict,
    populations: list[str] | tuple[str, ...] | None = None,
    *,
    kernel: RateKernel = DEFAULT_KERNEL,
    resolution_ms: float | None = None,
    ax=None,
):
    """Time-resolved population rates (Hz per neuron), the kernel named on the y axis.

    **Arguments:**
    - `source`, `populations`: as `plot_raster`.
    - `kernel`: a `RateKernel` (shape and width, ms); see `population_rate`.
    - `resolution_ms`: sample spacing, ms; defaults to the record's `dt`.

    **Returns:** the `Axes`, one line per population.
    """
    ax = _axes(ax, (8, 2.5))
    trains = _populations(source, populations)
    for k, (name, t) in enumerate(trains.items()):
        times, rate = population_rate(t, kernel, resolution_ms=resolution_ms)
        ax.plot(times, rate, color=f"C{k}", label=name if t.n_spikes else f"{name} (no spikes)")
    ax.set(xlabel="time (ms)", ylabel=f"rate (Hz)\n{kernel.label}")
    if trains:
        ax.legend(loc="upper right", fontsize=8)
    else:
        _say_empty(ax, "no spiking population recorded")
    return ax


def plot_traces(result: SimulationResult, name: str, *, ax=None, max_traces: int = 10, unit: str = "mV"):
    """The traces of monitor `name` (e.g. `"E.v"`); at most `max_traces` of them, evenly
    spaced over the recorded neurons, which the title says.

    **Returns:** the `Axes`, one line per drawn trace.
    """
    ax = _axes(ax, (8, 2.5))
    values = np.asarray(result.traces[name])
    values = values.reshape(values.shape[0], -1)
    n = values.shape[1]
    kept = shown_neurons(n, max_traces)
    if values.shape[0]:
        ax.plot(result.trace_times(name), values[:, kept], lw=0.8)
    else:
        _say_empty(ax, f"no samples of `{name}` recorded (a run shorter than its `every`?)")
    shown = f"{kept.size} of {n} traces (evenly spaced)" if kept.size < n else f"all {n} traces"
    ax.set_title(f"{name}: {shown}", fontsize=9)
    ax.set(xlabel="time (ms)", ylabel=f"{name} ({unit})")
    return ax


def plot_isi_histogram(spikes: SpikesLike, *, bins: int = 50, max_isi_ms: float | None = None, ax=None):
    """Histogram of the interspike intervals of all neurons pooled, with their count and the
    mean CV in the title.

    **Arguments:**
    - `spikes`: see `spike_trains`.
    - `bins`: number of bins.
    - `max_isi_ms`: drop longer intervals from the histogram (the title says how many).

    **Returns:** the `Axes`.
    """
    ax = _axes(ax, (5, 3))
    isis = interspike_intervals(spikes)
    pooled = np.concatenate(isis) if isis else np.zeros(0)
    firing = sum(1 for isi in isis if isi.size)
    if pooled.size == 0:
        _say_empty(ax, "no neuron fired twice: no interspike intervals")
        title = "ISI histogram: no intervals"
    else:
        shown = pooled if max_isi_ms is None else pooled[pooled <= max_isi_ms]
        ax.hist(shown, bins=bins, color="C0")
        title = f"ISI histogram: {pooled.size} intervals from {firing} neurons, CV = {isi_cv(spikes):.2f}"
        if shown.size < pooled.size:
            title += f"\n{pooled.size - shown.size} intervals > {max_isi_ms:g} ms not shown"
    ax.set_title(title, fontsize=9)
    ax.set(xlabel="interspike interval (ms)", ylabel="count")
    return ax


def plot_phase_plane(plane: PhasePlane, *, ax=None, trajectory: tuple | None = None, units: tuple = ("", "")):
    """Vector field (stream lines) and nullclines (zero contours) of a `PhasePlane`.

    **Arguments:**
    - `plane`: from `phase_plane`.
    - `trajectory`: optional `(x values, y values)` drawn on top (e.g. two traces of a run).
    - `units`: axis units, e.g. `("mV", "mV/ms")`.

    **Returns:** the `Axes`. A nullcline that does not cross the window is named in the
    title instead of being drawn.
    """
    from matplotlib.lines import Line2D

    ax = _axes(ax, (5, 4))
    x_name, y_name = plane.variables
    ax.streamplot(plane.x, plane.y, plane.dx, plane.dy, color="0.7", density=1.0, linewidth=0.6)
    handles, missing = [], []
    for k, (values, name) in enumerate(((plane.dx, x_name), (plane.dy, y_name))):
        label = f"d{name}/dt = 0"
        if values.min() < 0 < values.max():
            ax.contour(plane.x, plane.y, values, levels=[0.0], colors=f"C{k}", linewidths=1.5)
            handles.append(Line2D([], [], color=f"C{k}", label=label))
        else:
            missing.append(f"{label} not in this window")
    if trajectory is not None:
        ax.plot(np.asarray(trajectory[0]), np.asarray(trajectory[1]), color="k", lw=0.8)
        handles.append(Line2D([], [], color="k", label="trajectory"))
    title = f"{plane.model}, I = {plane.current:g} pA"
    if missing:
        title += "\n" + "; ".join(missing)
    ax.set_title(title, fontsize=9)
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=8)
    x_unit, y_unit = units
    ax.set(
        xlabel=f"{x_name} ({x_unit})" if x_unit else x_name,
        ylabel=f"{y_name} ({y_unit})" if y_unit else y_name,
        xlim=(plane.x[0], plane.x[-1]),
        ylim=(plane.y[0], plane.y[-1]),
    )
    return ax


def plot_summary(
    result: SimulationResult,
    *,
    kernel: RateKernel = DEFAULT_KERNEL,
    max_neurons: int = 500,
    path=None,
):
    """Raster (`plot_raster`) above population rates (`plot_rates`) in one figure; saved to
    `path` if given.

    **Returns:** the `Figure`.
    """
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    plot_raster(result, ax=top, max_neurons=max_neurons)
    plot_rates(result, kernel=kernel, ax=bottom)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
