r"""`SpikeTrains`: the spikes of one population together with the window they were recorded in.

Every statistic in `brainsim.analysis` reads its spikes through `spike_trains`, which accepts

- a `SimulationResult` and a population name: the window ($t_\mathrm{start}$,
  $t_\mathrm{stop}$, in ms), the time step and the population size come from the run;
- a `SpikeRecord` (`result.spikes[name]`) or a `(times, indices)` pair of arrays: the window,
  time step and size are then unknown unless given, and a statistic that needs one of them
  raises a `ValueError` saying which;
- a `SpikeTrains`, returned as is.

**Binning.** A recorded spike time is the *end* of the step in which threshold was crossed, so
bins are closed on the right: bin $k$ of width $b$ holds the spikes with
$t_\mathrm{start} + k b < t \le t_\mathrm{start} + (k+1) b$ (a spike exactly at
$t_\mathrm{start}$ goes to bin 0). Only complete bins are kept: $K = \lfloor (t_\mathrm{stop}
- t_\mathrm{start}) / b \rfloor$.
"""

import dataclasses
import math

import numpy as np
from jaxtyping import ArrayLike, Int, Real

from ..result import SimulationResult, SpikeRecord

_TIME_TOLERANCE = 1e-9
"""Relative slack when a spike time meets a bin edge: `start + (k + 1) * dt` is rarely exact."""


@dataclasses.dataclass(frozen=True)
class SpikeTrains:
    """Spikes of one population and the window they come from.

    **Fields:**
    - `times`: float64 array `(n_spikes,)`, spike times, ms, sorted (stable, so simultaneous
      spikes keep their order).
    - `indices`: int64 array `(n_spikes,)`, neuron of each spike, in `[0, n)`.
    - `n`: population size, or `None` if unknown.
    - `t_start`, `t_stop`: the recording window, ms, or `None` if unknown; every spike lies in
      `[t_start, t_stop]`.
    - `dt`: the simulation time step, ms, or `None` if unknown.
    """

    times: np.ndarray
    indices: np.ndarray
    n: int | None = None
    t_start: float | None = None
    t_stop: float | None = None
    dt: float | None = None

    def __post_init__(self):
        times = np.asarray(self.times, np.float64)
        indices = np.asarray(self.indices)
        if times.ndim != 1 or times.shape != indices.shape:
            raise ValueError(
                f"`times` and `indices` must be 1-D of equal length; got shapes {times.shape} "
                f"and {indices.shape}."
            )
        if indices.size and not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"`indices` must be integer neuron indices; got dtype {indices.dtype}.")
        indices = indices.astype(np.int64)
        if not np.all(np.isfinite(times)):
            raise ValueError("`times` must be finite (ms).")
        if indices.size and indices.min() < 0:
            raise ValueError(f"`indices` must be >= 0; got {indices.min()}.")
        if self.n is not None:
            if int(self.n) < 1:
                raise ValueError(f"`n` must be >= 1 neurons; got {self.n!r}.")
            if indices.size and indices.max() >= self.n:
                raise ValueError(f"`indices` must be < `n` = {self.n}; got {indices.max()}.")
        if self.dt is not None and not self.dt > 0:
            raise ValueError(f"`dt` must be > 0 ms; got {self.dt!r}.")
        if self.t_start is not None and self.t_stop is not None and not self.t_stop > self.t_start:
            raise ValueError(
                f"`t_stop` must be > `t_start`; got t_start={self.t_start!r} ms, t_stop={self.t_stop!r} ms."
            )
        slack = _TIME_TOLERANCE * max(1.0, float(np.max(np.abs(times), initial=0.0)))
        if self.t_start is not None and times.size and times.min() < self.t_start - slack:
            raise ValueError(f"a spike at {times.min()} ms lies before `t_start` = {self.t_start} ms.")
        if self.t_stop is not None and times.size and times.max() > self.t_stop + slack:
            raise ValueError(f"a spike at {times.max()} ms lies after `t_stop` = {self.t_stop} ms.")
        order = np.argsort(times, kind="stable")
        object.__setattr__(self, "times", times[order])
        object.__setattr__(self, "indices", indices[order])
        for name in ("t_start", "t_stop", "dt"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else float(value))
        object.__setattr__(self, "n", None if self.n is None else int(self.n))

    def __repr__(self) -> str:
        window = (
            "window unknown"
            if self.t_start is None or self.t_stop is None
            else f"{self.t_start:g}-{self.t_stop:g} ms"
        )
        n = "n unknown" if self.n is None else f"n={self.n}"
        dt = "" if self.dt is None else f", dt={self.dt:g} ms"
        return f"SpikeTrains({self.times.size} spikes, {n}, {window}{dt})"

    @property
    def n_spikes(self) -> int:
        return int(self.times.size)

    @property
    def duration(self) -> float:
        """`t_stop - t_start`, ms (raises if the window is unknown)."""
        start, stop = self.window()
        return stop - start

    def window(self) -> tuple[float, float]:
        """`(t_start, t_stop)`, ms; raises a `ValueError` naming the fix if either is unknown."""
        if self.t_start is None or self.t_stop is None:
            raise ValueError(
                "this statistic needs the recording window but `t_start`/`t_stop` are unknown: "
                "build the trains with `bs.analysis.spike_trains(result, name)` (the run's window) "
                "or `bs.analysis.spike_trains((times, indices), t_start=..., t_stop=...)`."
            )
        return self.t_start, self.t_stop

    def size(self) -> int:
        """`n`; raises a `ValueError` naming the fix if it is unknown (silent neurons count)."""
        if self.n is None:
            raise ValueError(
                "this statistic needs the population size (silent neurons count) but `n` is "
                "unknown: build the trains with `bs.analysis.spike_trains(result, name)` or pass `n=`."
            )
        return self.n

    def n_or_observed(self) -> int:
        """`n` if known, else one more than the largest index that fired (0 if none did)."""
        if self.n is not None:
            return self.n
        return int(self.indices.max()) + 1 if self.indices.size else 0

    def time_step(self) -> float:
        """`dt`, ms; raises a `ValueError` naming the fix if it is unknown."""
        if self.dt is None:
            raise ValueError(
                "no resolution given and the time step `dt` is unknown: pass `resolution_ms=` "
                "or build the trains with `bs.analysis.spike_trains(result, name)`."
            )
        return self.dt


SpikesLike = SpikeTrains | SpikeRecord | SimulationResult | tuple
"""What the statistics accept as spikes (see `spike_trains`)."""


def spike_trains(
    source: SpikesLike,
    name: str | None = None,
    *,
    n: int | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    dt: float | None = None,
) -> SpikeTrains:
    """The `SpikeTrains` of `source`.

    **Arguments:**
    - `source`: a `SimulationResult` (then `name` is required), a `SpikeRecord`, a
      `(times, indices)` pair (ms, neuron indices) or a `SpikeTrains`.
    - `name`: the population, for a `SimulationResult`.
    - `n`, `t_start`, `t_stop` (ms), `dt` (ms): override or supply what `source` does not carry.
      A `SimulationResult` supplies all four: `n` is the population size, the window is
      `[result.start_time, result.start_time + result.duration]` and `dt` is `result.dt`.

    **Returns:** a `SpikeTrains`.
    """
    given = {"n": n, "t_start": t_start, "t_stop": t_stop, "dt": dt}
    given = {k: v for k, v in given.items() if v is not None}
    if isinstance(source, SimulationResult):
        if name is None:
            raise ValueError(
                f"`name` is required with a `SimulationResult`; populations: {sorted(source.spikes)}."
            )
        record = source.spikes[name]
        base = {
            "n": source.population_sizes[name],
            "t_start": source.start_time,
            "t_stop": source.start_time + source.duration,
            "dt": source.dt,
        }
        return SpikeTrains(record.times, record.indices, **{**base, **given})
    if name is not None:
        raise ValueError("`name` only applies to a `SimulationResult`.")
    if isinstance(source, SpikeTrains):
        return dataclasses.replace(source, **given) if given else source
    if isinstance(source, tuple) and len(source) == 2:  # a SpikeRecord is a (times, indices) tuple
        times, indices = source
        return SpikeTrains(np.asarray(times), np.asarray(indices), **given)
    raise TypeError(
        "`source` must be a SimulationResult (with `name`), a SpikeRecord, a (times, indices) "
        f"pair or a SpikeTrains; got {type(source).__name__}."
    )


def _n_bins(duration: float, bin_ms: float) -> int:
    return int(math.floor(duration / bin_ms + _TIME_TOLERANCE))


def bin_index(times: Real[ArrayLike, " s"], t_start: float, bin_ms: float) -> Int[np.ndarray, " s"]:
    """Bin of each spike time: $k = \\lceil (t - t_\\mathrm{start}) / b \\rceil - 1$, clipped at 0
    (right-closed bins, see the module docstring)."""
    position = (np.asarray(times, np.float64) - t_start) / bin_ms
    return np.maximum(np.ceil(position - _TIME_TOLERANCE).astype(np.int64) - 1, 0)


def binned_spike_counts(spikes: SpikesLike, *, bin_ms: float) -> Int[np.ndarray, "n bins"]:
    r"""Spike counts per neuron and bin: $N_{ik}$, the spikes of neuron $i$ in bin $k$.

    **Arguments:**
    - `spikes`: see `spike_trains`; the window must be known. Rows are neurons `0 .. n-1`
      (`n` if known, else up to the largest index that fired).
    - `bin_ms`: bin width $b$, ms, > 0. Bins are right-closed; only complete bins are kept.

    **Returns:** int64 array `(n, n_bins)`.
    """
    trains = spike_trains(spikes)
    _require_positive("bin_ms", bin_ms)
    start, stop = trains.window()
    n_bins = _n_bins(stop - start, bin_ms)
    if n_bins < 1:
        raise ValueError(f"`bin_ms` = {bin_ms} ms is longer than the window ({stop - start} ms).")
    n = trains.n_or_observed()
    k = bin_index(trains.times, start, bin_ms)
    keep = k < n_bins
    flat = np.bincount(trains.indices[keep] * n_bins + k[keep], minlength=n * n_bins)
    return flat.reshape(n, n_bins)


def population_activity(spikes: SpikesLike, *, bin_ms: float) -> Int[np.ndarray, " bins"]:
    r"""Population activity $A_k = \sum_i N_{ik}$: spikes of the whole population per bin.

    **Arguments:** as `binned_spike_counts`.

    **Returns:** int64 array `(n_bins,)`.
    """
    trains = spike_trains(spikes)
    _require_positive("bin_ms", bin_ms)
    start, stop = trains.window()
    n_bins = _n_bins(stop - start, bin_ms)
    if n_bins < 1:
        raise ValueError(f"`bin_ms` = {bin_ms} ms is longer than the window ({stop - start} ms).")
    k = bin_index(trains.times, start, bin_ms)
    return np.bincount(k[k < n_bins], minlength=n_bins).astype(np.int64)


def _require_positive(name: str, value: float, unit: str = "ms") -> None:
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0 {unit}; got {value!r}.")
