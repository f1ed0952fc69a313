"""Statistics of recorded spike trains (NumPy, on the host)."""

import numpy as np


def firing_rates(times: np.ndarray, indices: np.ndarray, n: int, duration: float) -> np.ndarray:
    """Per-neuron firing rate, Hz, shape `(n,)`, from spike `times` (ms) and `indices` over a
    run of `duration` ms."""
    if duration <= 0:
        raise ValueError(f"`duration` must be > 0 ms; got {duration}.")
    counts = np.bincount(np.asarray(indices, dtype=np.int64), minlength=n)[:n]
    return counts / (duration * 1e-3)


def interspike_intervals(times: np.ndarray, indices: np.ndarray) -> list[np.ndarray]:
    """The interspike intervals (ms) of each neuron that fired at least twice."""
    times, indices = np.asarray(times, np.float64), np.asarray(indices, np.int64)
    order = np.lexsort((times, indices))
    per_neuron = np.split(times[order], np.flatnonzero(np.diff(indices[order])) + 1)
    return [np.diff(t) for t in per_neuron if len(t) >= 2]


def isi_cv(times: np.ndarray, indices: np.ndarray, min_spikes: int = 3) -> float:
    r"""Mean over neurons of the coefficient of variation of interspike intervals,
    $\mathrm{CV} = \sigma_\mathrm{ISI} / \mu_\mathrm{ISI}$ (1 for a Poisson process, 0 for a
    clock), over neurons with at least `min_spikes` spikes. NaN if there are none."""
    cvs = [
        np.std(isi) / np.mean(isi)
        for isi in interspike_intervals(times, indices)
        if len(isi) >= min_spikes - 1 and np.mean(isi) > 0
    ]
    return float(np.mean(cvs)) if cvs else float("nan")
