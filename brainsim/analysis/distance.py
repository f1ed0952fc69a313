r"""The van Rossum distance between spike trains (van Rossum 2001).

Each train is filtered with a causal exponential, $f(t) = \sum_j H(t - t_j)\,e^{-(t - t_j)/\tau}$,
and the distance is

$$D^2(f, g) = \frac{1}{\tau}\int_{-\infty}^{\infty} \big(f(t) - g(t)\big)^2\,dt
= \frac{1}{2}\Big(\sum_{j,j'} e^{-|t_j - t_{j'}|/\tau} + \sum_{l,l'} e^{-|s_l - s_{l'}|/\tau}
- 2\sum_{j,l} e^{-|t_j - s_l|/\tau}\Big),$$

so two single spikes $\delta$ ms apart are at $D^2 = 1 - e^{-\delta/\tau}$, a train and the
empty train at $D^2 = $ half the number of spikes (for spikes far apart), and $D$ is
dimensionless. Elephant's `van_rossum_distance` omits the factor 1/2: its distance is
$\sqrt 2\,D$. The sums are evaluated exactly by one pass over the merged, sorted spikes
(each neuron's filtered trace decays from spike to spike), $O(S\,n)$ for $S$ spikes and $n$
trains, with no time grid.

??? cite "Reference"
    ```bibtex
    @article{vanrossum2001novel,
      author = {van Rossum, Mark C. W.},
      title = {A novel spike distance},
      journal = {Neural Computation}, volume = {13}, number = {4},
      pages = {751--763}, year = {2001}, doi = {10.1162/089976601300014321}}
    ```
"""

import numpy as np
from jaxtyping import ArrayLike, Float, Real

from .spike_trains import SpikesLike, SpikeTrains, _require_positive, spike_trains


def _kernel_sums(times, indices, n: int, tau_ms: float):
    """`E[i, j] = sum over spikes a of i, b of j of exp(-|t_a - t_b| / tau)`, `(n, n)`."""
    order = np.argsort(times, kind="stable")
    times, indices = times[order], indices[order]
    trace = np.zeros(n)  # f_i just before the current spike
    sums = np.zeros((n, n))
    previous = times[0] if times.size else 0.0
    for t, j in zip(times.tolist(), indices.tolist(), strict=True):  # over spikes, on the host
        trace *= np.exp(-(t - previous) / tau_ms)
        sums[:, j] += trace  # pairs (a, b) with t_a <= t_b, a before b
        sums[j, :] += trace
        sums[j, j] += 1.0  # the pair (b, b)
        trace[j] += 1.0
        previous = t
    return sums


def van_rossum_matrix(spikes: SpikesLike, *, tau_ms: float) -> Float[np.ndarray, "n n"]:
    r"""Van Rossum distances $D_{ij}$ between all neurons of a population.

    **Arguments:**
    - `spikes`: see `spike_trains`.
    - `tau_ms`: the filter time constant $\tau$, ms, > 0.

    **Returns:** float array `(n, n)`, dimensionless (normalisation in the module docstring).
    """
    _require_positive("tau_ms", tau_ms)
    trains = spike_trains(spikes)
    e = _kernel_sums(trains.times, trains.indices, trains.n_or_observed(), tau_ms)
    diagonal = np.diag(e)
    squared = 0.5 * (diagonal[:, None] + diagonal[None, :] - 2.0 * e)
    return np.sqrt(np.maximum(squared, 0.0))  # rounding can leave -1e-16 on the diagonal


def van_rossum_distance(
    train_a: Real[ArrayLike, " a"], train_b: Real[ArrayLike, " b"], *, tau_ms: float
) -> float:
    r"""Van Rossum distance $D$ between two spike trains (times in ms).

    **Arguments:**
    - `train_a`, `train_b`: spike times, ms, any order (NumPy or JAX arrays, sequences).
    - `tau_ms`: the filter time constant $\tau$, ms, > 0.

    **Returns:** $D$, dimensionless, with $D^2 = 1 - e^{-\delta/\tau}$ for single spikes
    $\delta$ ms apart.
    """
    a, b = np.asarray(train_a, np.float64), np.asarray(train_b, np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"`train_a`, `train_b` must be 1-D; got shapes {a.shape}, {b.shape}.")
    times = np.concatenate([a, b])
    indices = np.concatenate([np.zeros(a.size, np.int64), np.ones(b.size, np.int64)])
    return float(van_rossum_matrix(SpikeTrains(times, indices, n=2), tau_ms=tau_ms)[0, 1])
