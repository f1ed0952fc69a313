r"""Interspike-interval statistics: ISIs, their coefficient of variation and local variation.

For a neuron with spike times $t_1 < \dots < t_{m}$ and intervals $I_j = t_{j+1} - t_j$ (ms):

$$\mathrm{CV} = \frac{\sqrt{\frac{1}{m-1}\sum_j (I_j - \bar I)^2}}{\bar I}, \qquad
\mathrm{LV} = \frac{3}{m-2}\sum_{j=1}^{m-2} \left(\frac{I_j - I_{j+1}}{I_j + I_{j+1}}\right)^2$$

(the standard deviation is the population one, ddof = 0, as in Elephant's `cv`). Both are 1
for a Poisson process and 0 for a clock; LV (Shinomoto et al. 2003) compares only neighbouring
intervals, so it is insensitive to slow rate changes that inflate the CV. A neuron needs at
least `min_spikes` spikes (>= 3, so two intervals) to have either.

??? cite "Reference"
    ```bibtex
    @article{shinomoto2003differences,
      author = {Shinomoto, Shigeru and Shima, Keisetsu and Tanji, Jun},
      title = {Differences in spiking patterns among cortical neurons},
      journal = {Neural Computation}, volume = {15}, number = {12},
      pages = {2823--2842}, year = {2003}, doi = {10.1162/089976603322518759}}
    ```
"""

import dataclasses

import numpy as np
from jaxtyping import Float, Int, Real

from .spike_trains import SpikesLike, SpikeTrains, spike_trains


def interspike_intervals(spikes: SpikesLike) -> list[Float[np.ndarray, " intervals"]]:
    """The interspike intervals (ms) of every neuron, in time order.

    **Arguments:** `spikes`: see `spike_trains`.

    **Returns:** a list with one float array per neuron `0 .. n-1` (`n` if known, else up to
    the largest index that fired); neurons with fewer than two spikes get an empty array.
    """
    trains = spike_trains(spikes)
    n = trains.n_or_observed()
    order = np.argsort(trains.indices, kind="stable")  # times are sorted: stable keeps them so
    times, indices = trains.times[order], trains.indices[order]
    bounds = np.searchsorted(indices, np.arange(n + 1))
    return [np.diff(times[bounds[i] : bounds[i + 1]]) for i in range(n)]


@dataclasses.dataclass(frozen=True)
class IsiStatistics:
    """Per-neuron ISI statistics; NaN for neurons with fewer than `min_spikes` spikes.

    **Fields:**
    - `n_spikes`: int array `(n,)`.
    - `mean_isi`: float array `(n,)`, ms.
    - `cv`, `lv`: float arrays `(n,)`, dimensionless (see the module docstring).
    """

    n_spikes: np.ndarray
    mean_isi: np.ndarray
    cv: np.ndarray
    lv: np.ndarray

    def __repr__(self) -> str:
        valid = np.isfinite(self.cv)
        if not valid.any():
            return f"IsiStatistics({self.n_spikes.size} neurons, none with enough spikes)"
        return (
            f"IsiStatistics({self.n_spikes.size} neurons, {int(valid.sum())} with enough spikes: "
            f"mean CV {np.mean(self.cv[valid]):.3g}, mean LV {np.mean(self.lv[valid]):.3g})"
        )


def isi_statistics(spikes: SpikesLike, *, min_spikes: int = 3) -> IsiStatistics:
    """CV, LV and mean ISI of every neuron (see the module docstring).

    **Arguments:**
    - `spikes`: see `spike_trains`.
    - `min_spikes`: fewest spikes a neuron needs, >= 3.

    **Returns:** an `IsiStatistics` of arrays `(n,)`.
    """
    if min_spikes < 3:
        raise ValueError(f"`min_spikes` must be >= 3 (two intervals); got {min_spikes!r}.")
    trains = spike_trains(spikes)
    n = trains.n_or_observed()
    order = np.argsort(trains.indices, kind="stable")  # by neuron, in time within each
    times, neuron = trains.times[order], trains.indices[order]
    counts = np.bincount(neuron, minlength=n)
    # every interval, and the neuron it belongs to (differences across neurons dropped)
    same = neuron[1:] == neuron[:-1]
    isi, owner = np.diff(times)[same], neuron[1:][same]
    n_isi = np.bincount(owner, minlength=n)
    total = np.bincount(owner, weights=isi, minlength=n)
    valid = (counts >= min_spikes) & (total > 0)
    mean_isi = np.where(valid, total / np.maximum(n_isi, 1), np.nan)
    squares = np.bincount(owner, weights=(isi - mean_isi[owner]) ** 2, minlength=n)
    cv = np.where(valid, np.sqrt(squares / np.maximum(n_isi, 1)) / mean_isi, np.nan)
    # neighbouring intervals of one neuron; a pair sum of 0 (three simultaneous spikes) gives 0
    pair = owner[1:] == owner[:-1]
    pair_sum = (isi[1:] + isi[:-1])[pair]
    ratio = np.diff(isi)[pair] / np.where(pair_sum > 0, pair_sum, 1.0)
    ratio_sum = np.bincount(owner[1:][pair], weights=ratio**2, minlength=n)
    lv = np.where(valid, 3.0 * ratio_sum / np.maximum(n_isi - 1, 1), np.nan)
    return IsiStatistics(counts.astype(np.int64), mean_isi, cv, lv)


def isi_cv(
    spikes: SpikesLike | Real[np.ndarray, " s"],
    indices: Int[np.ndarray, " s"] | None = None,
    *,
    min_spikes: int = 3,
) -> float:
    r"""Mean over neurons of the ISI coefficient of variation $\mathrm{CV}$ (1 for Poisson,
    0 for a clock), over neurons with at least `min_spikes` spikes; NaN if there are none.

    **Arguments:**
    - `spikes`: see `spike_trains`; or the spike times (ms) when `indices` is given.
    - `indices`: neuron index of each spike time (the older `isi_cv(times, indices)` form).
    - `min_spikes`: fewest spikes a neuron needs, >= 3.
    """
    trains = SpikeTrains(spikes, indices) if indices is not None else spike_trains(spikes)
    cv = isi_statistics(trains, min_spikes=min_spikes).cv
    return float(np.mean(cv[np.isfinite(cv)])) if np.isfinite(cv).any() else float("nan")


def local_variation(spikes: SpikesLike, *, min_spikes: int = 3) -> float:
    r"""Mean over neurons of the local variation $\mathrm{LV}$ (Shinomoto et al. 2003; 1 for
    Poisson, 0 for a clock), over neurons with at least `min_spikes` spikes; NaN if none.

    **Arguments:**
    - `spikes`: see `spike_trains`.
    - `min_spikes`: fewest spikes a neuron needs, >= 3.
    """
    lv = isi_statistics(spikes, min_spikes=min_spikes).lv
    return float(np.mean(lv[np.isfinite(lv)])) if np.isfinite(lv).any() else float("nan")
