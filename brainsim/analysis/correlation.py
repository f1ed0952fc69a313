r"""Count variability and synchrony: Fano factor, spike-count correlation, Golomb's $\chi$.

With $N_{ik}$ the spikes of neuron $i$ in counting window $k$ (`binned_spike_counts`,
$K$ complete windows of width $b$):

- Fano factor of neuron $i$: $F_i = \mathrm{Var}_k[N_{ik}] / \mathrm{E}_k[N_{ik}]$
  (variance with ddof = 0, as Elephant's `fanofactor` over the windows); 1 for a Poisson
  process at any window, 0 for a clock whose period divides $b$.
- Spike-count correlation: $\rho_{ij}$, the Pearson correlation of $N_{ik}$ and $N_{jk}$ over $k$.
- Synchrony (Golomb 2007): for signals $x_i(t)$ and their population mean
  $X(t) = \frac{1}{N}\sum_i x_i(t)$,
  $$\chi^2 = \frac{\mathrm{Var}_t[X]}{\frac{1}{N}\sum_i \mathrm{Var}_t[x_i]},$$
  1 when all signals are identical and about $1/\sqrt{N}$ for independent ones. Golomb's
  signals are membrane potentials (`synchrony_chi_of_traces`); `synchrony_chi` uses the spike
  counts in bins.

??? cite "Reference"
    ```bibtex
    @article{golomb2007neuronal,
      author = {Golomb, David}, title = {Neuronal synchrony measures},
      journal = {Scholarpedia}, volume = {2}, number = {1}, pages = {1347}, year = {2007},
      doi = {10.4249/scholarpedia.1347}}
    ```
"""

import numpy as np
from jaxtyping import Float, Real

from .spike_trains import (
    SpikesLike,
    _n_bins,
    _require_positive,
    bin_index,
    binned_spike_counts,
    population_activity,
    spike_trains,
)


def fano_factor(spikes: SpikesLike, *, window_ms: float) -> float:
    r"""Mean over neurons of the Fano factor $F_i$ of spike counts in windows of `window_ms`.

    **Arguments:**
    - `spikes`: see `spike_trains`; the window must be known.
    - `window_ms`: the counting window $b$, ms, > 0; the run is cut into
      $\lfloor T / b \rfloor$ consecutive windows (at least 2).

    **Returns:** the mean of $F_i$ over neurons that spiked in some window; NaN if none did.
    """
    n_windows, first, second = _count_moments(spike_trains(spikes), window_ms)
    if n_windows < 2:
        raise ValueError(f"`window_ms` = {window_ms} ms leaves fewer than 2 counting windows.")
    active = first > 0
    if not active.any():
        return float("nan")
    mean = first[active] / n_windows
    variance = second[active] / n_windows - mean**2
    return float(np.mean(np.maximum(variance, 0.0) / mean))


def _count_moments(trains, bin_ms: float) -> tuple[int, np.ndarray, np.ndarray]:
    """`(K, sum_k N_ik, sum_k N_ik^2)` per neuron, from the spikes alone (memory O(spikes), not
    O(n K): a long run in small bins never builds the dense count matrix)."""
    _require_positive("bin_ms", bin_ms)
    start, stop = trains.window()
    n_bins = _n_bins(stop - start, bin_ms)
    n = trains.n_or_observed()
    k = bin_index(trains.times, start, bin_ms)
    keep = k < n_bins
    cells, per_cell = np.unique(trains.indices[keep] * max(n_bins, 1) + k[keep], return_counts=True)
    neuron = cells // max(n_bins, 1)
    first = np.bincount(neuron, weights=per_cell, minlength=n)
    second = np.bincount(neuron, weights=per_cell.astype(np.float64) ** 2, minlength=n)
    return n_bins, first, second


def spike_count_correlation(spikes: SpikesLike, *, window_ms: float) -> Float[np.ndarray, "n n"]:
    r"""Pearson correlation $\rho_{ij}$ of spike counts in windows of `window_ms`.

    **Arguments:**
    - `spikes`: see `spike_trains`; the window must be known.
    - `window_ms`: the counting window, ms, > 0.

    **Returns:** float array `(n, n)`; rows and columns of neurons whose count never varies
    (silent ones, for instance) are NaN.
    """
    counts = binned_spike_counts(spikes, bin_ms=window_ms).astype(np.float64)
    centred = counts - counts.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.sum(centred**2, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = centred / norm[:, None]
    unit[norm == 0] = np.nan
    return np.clip(unit @ unit.T, -1.0, 1.0)


def synchrony_chi_of_traces(traces: Real[np.ndarray, "time n"]) -> float:
    r"""Golomb's synchrony $\chi$ of signals sampled in time, e.g. membrane potentials
    (`result.traces["E.v"]`, shape `(n_samples, n)`).

    **Returns:** $\chi \in [0, 1]$; NaN if no signal varies.
    """
    x = np.asarray(traces, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"`traces` must have shape (n_samples >= 2, n); got {x.shape}.")
    individual = np.mean(x.var(axis=0))
    if not individual > 0:
        return float("nan")
    return float(np.sqrt(x.mean(axis=1).var() / individual))


def synchrony_chi(spikes: SpikesLike, *, bin_ms: float) -> float:
    r"""Golomb's synchrony $\chi$ of spike counts in bins of `bin_ms` (signals $x_i = N_{ik}$).

    **Arguments:**
    - `spikes`: see `spike_trains`; the window and `n` must be known (silent neurons count:
      they lower the denominator and the population mean).
    - `bin_ms`: bin width, ms, > 0.

    **Returns:** $\chi \in [0, 1]$; NaN if no neuron spiked.
    """
    trains = spike_trains(spikes)
    n = trains.size()  # silent neurons count: n must be known
    n_bins, first, second = _count_moments(trains, bin_ms)
    if n_bins < 2:
        raise ValueError(f"`bin_ms` = {bin_ms} ms leaves fewer than 2 bins.")
    individual = np.mean(second / n_bins - (first / n_bins) ** 2)
    if not individual > 0:
        return float("nan")
    population = population_activity(trains, bin_ms=bin_ms) / n
    return float(np.sqrt(population.var() / individual))
