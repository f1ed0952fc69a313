r"""Firing rates: per neuron, per population, and time-resolved with a stated kernel.

A time-resolved rate is the spike train convolved with a kernel $K$ of unit area (1/ms):

$$r_i(t) = 10^3 \sum_f K(t - t_i^f) \quad \text{(Hz)}, \qquad
A(t) = \frac{1}{N} \sum_{i=1}^{N} r_i(t).$$

The spikes are first counted in bins of `resolution_ms` $\Delta$ (right-closed, see
`spike_trains`) and each count is placed at its bin's centre; the kernel is averaged over each
bin, $\bar K_m = \frac{1}{\Delta}\int_{(m - 1/2)\Delta}^{(m + 1/2)\Delta} K(s)\,ds$, so
$\sum_k r_i(t_k)\,\Delta = 10^3 \times$ (spike count) whenever the kernel lies inside the window.
Rates near the window's edges are not corrected (the kernel mass beyond the edge is lost).
"""

import dataclasses
import math

import numpy as np
from jaxtyping import Float

from .spike_trains import (
    SpikesLike,
    _n_bins,
    _require_positive,
    binned_spike_counts,
    population_activity,
    spike_trains,
)

KERNEL_SHAPES = ("rectangular", "gaussian", "exponential")


@dataclasses.dataclass(frozen=True)
class RateKernel:
    r"""A smoothing kernel of unit area for time-resolved rates.

    - `"rectangular"`: $K(s) = 1/w$ for $-w/2 \le s < w/2$; `width_ms` is the full width $w$.
    - `"gaussian"`: $K(s) = e^{-s^2/2\sigma^2} / (\sqrt{2\pi}\sigma)$; `width_ms` is the
      standard deviation $\sigma$ (truncated at $\pm 5\sigma$).
    - `"exponential"`: causal, $K(s) = e^{-s/\tau}/\tau$ for $s \ge 0$; `width_ms` is the time
      constant $\tau$ (truncated at $15\tau$). The rate at $t$ then only sees spikes before $t$.

    **Fields:**
    - `shape`: one of `"rectangular"`, `"gaussian"`, `"exponential"`.
    - `width_ms`: the width above, ms; > 0.
    """

    shape: str = "gaussian"
    width_ms: float = 5.0

    def __post_init__(self):
        if self.shape not in KERNEL_SHAPES:
            raise ValueError(f"`shape` must be one of {KERNEL_SHAPES}; got {self.shape!r}.")
        _require_positive("width_ms", self.width_ms)

    @property
    def label(self) -> str:
        """The kernel in words, e.g. `"Gaussian kernel, σ = 5 ms"` (used in plot labels)."""
        w = f"{self.width_ms:g} ms"
        return {
            "rectangular": f"rectangular kernel, width {w}",
            "gaussian": f"Gaussian kernel, σ = {w}",
            "exponential": f"causal exponential kernel, τ = {w}",
        }[self.shape]

    def cumulative(self, s: Float[np.ndarray, " m"]) -> Float[np.ndarray, " m"]:
        """$\\int_{-\\infty}^{s} K$, dimensionless."""
        w = self.width_ms
        if self.shape == "rectangular":
            return np.clip(s / w + 0.5, 0.0, 1.0)
        if self.shape == "gaussian":
            erf = np.frompyfunc(math.erf, 1, 1)
            return 0.5 * (1.0 + erf(s / (w * math.sqrt(2.0))).astype(np.float64))
        return np.where(s > 0, -np.expm1(-np.maximum(s, 0.0) / w), 0.0)

    def support(self) -> tuple[float, float]:
        """`(lo, hi)`, ms: the kernel is 0 (or truncated) outside."""
        w = self.width_ms
        return {"rectangular": (-w / 2, w / 2), "gaussian": (-5 * w, 5 * w), "exponential": (0.0, 15 * w)}[
            self.shape
        ]

    def discretised(self, resolution_ms: float) -> tuple[Float[np.ndarray, " m"], int]:
        """`(weights, centre)`: $\\bar K_m$ (1/ms) for lags $m = $ `-centre ..`, see the module."""
        lo, hi = self.support()
        m_lo = math.floor(lo / resolution_ms - 0.5)
        m_hi = math.ceil(hi / resolution_ms + 0.5)
        edges = (np.arange(m_lo, m_hi + 2) - 0.5) * resolution_ms
        weights = np.diff(self.cumulative(edges)) / resolution_ms
        return weights, -m_lo


def firing_rates(spikes: SpikesLike) -> Float[np.ndarray, " n"]:
    r"""Mean rate of each neuron over the window: $r_i = 10^3\, n_i / T$ Hz, with $n_i$ its
    spike count and $T = t_\mathrm{stop} - t_\mathrm{start}$ in ms.

    **Arguments:** `spikes`: see `spike_trains`; the window and `n` must be known.

    **Returns:** float array `(n,)`, Hz.
    """
    trains = spike_trains(spikes)
    counts = np.bincount(trains.indices, minlength=trains.size())
    return counts / (trains.duration * 1e-3)


def mean_rate(spikes: SpikesLike) -> float:
    r"""Population mean rate $\bar r = 10^3 \sum_i n_i / (N T)$ Hz (silent neurons count).

    **Arguments:** `spikes`: see `spike_trains`; the window and `n` must be known.
    """
    trains = spike_trains(spikes)
    return trains.n_spikes / (trains.size() * trains.duration * 1e-3)


def _smooth(counts, kernel: RateKernel, resolution_ms: float):
    """Convolve `counts` `(..., n_bins)` with the discretised kernel along the last axis (Hz)."""
    weights, centre = kernel.discretised(resolution_ms)
    n_bins = counts.shape[-1]
    size = n_bins + weights.size - 1
    n_fft = 1 << (size - 1).bit_length()
    full = np.fft.irfft(np.fft.rfft(counts, n_fft) * np.fft.rfft(weights, n_fft), n_fft)
    return full[..., centre : centre + n_bins] * 1e3


def _bins(trains, resolution_ms):
    resolution_ms = trains.time_step() if resolution_ms is None else resolution_ms
    _require_positive("resolution_ms", resolution_ms)
    start, stop = trains.window()
    n_bins = _n_bins(stop - start, resolution_ms)
    times = start + (np.arange(n_bins) + 0.5) * resolution_ms
    return resolution_ms, times


def instantaneous_rates(
    spikes: SpikesLike, kernel: RateKernel, *, resolution_ms: float | None = None
) -> tuple[Float[np.ndarray, " bins"], Float[np.ndarray, "bins n"]]:
    r"""Time-resolved rate of each neuron, $r_i(t_k)$ (see the module docstring).

    **Arguments:**
    - `spikes`: see `spike_trains`; the window must be known.
    - `kernel`: a `RateKernel` (shape and width in ms).
    - `resolution_ms`: bin width $\Delta$, ms, > 0; defaults to the record's `dt`.

    **Returns:** `(times, rates)`: bin centres `(n_bins,)` in ms and rates `(n_bins, n)` in Hz.
    """
    trains = spike_trains(spikes)
    resolution_ms, times = _bins(trains, resolution_ms)
    counts = binned_spike_counts(trains, bin_ms=resolution_ms).astype(np.float64)
    return times, _smooth(counts, kernel, resolution_ms).T


def population_rate(
    spikes: SpikesLike, kernel: RateKernel, *, resolution_ms: float | None = None
) -> tuple[Float[np.ndarray, " bins"], Float[np.ndarray, " bins"]]:
    r"""Time-resolved population rate $A(t_k) = \frac{1}{N}\sum_i r_i(t_k)$, Hz per neuron.

    **Arguments:**
    - `spikes`: see `spike_trains`; the window and `n` must be known.
    - `kernel`: a `RateKernel` (shape and width in ms).
    - `resolution_ms`: bin width $\Delta$, ms, > 0; defaults to the record's `dt`.

    **Returns:** `(times, rate)`: bin centres `(n_bins,)` in ms and $A$ `(n_bins,)` in Hz.
    """
    trains = spike_trains(spikes)
    n = trains.size()
    resolution_ms, times = _bins(trains, resolution_ms)
    counts = population_activity(trains, bin_ms=resolution_ms).astype(np.float64)
    return times, _smooth(counts, kernel, resolution_ms) / n
