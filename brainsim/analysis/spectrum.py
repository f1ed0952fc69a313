r"""Power spectra of population activity (Welch's method or the periodogram), frequencies in Hz.

For a signal $x_k$ sampled every $\Delta$ ms ($f_s = 10^3/\Delta$ Hz), cut into segments of
$L$ samples, each with its mean removed and multiplied by a window $w$ (Hann for Welch,
rectangular for the periodogram), the one-sided power spectral density is

$$P(f_j) = \frac{c_j}{f_s \sum_n w_n^2}\,
\Big\langle \Big|\sum_{n=0}^{L-1} w_n x_n e^{-2\pi i j n / L}\Big|^2 \Big\rangle_\mathrm{segments},
\qquad f_j = j f_s / L,$$

with $c_j = 2$ except at $f = 0$ and at the Nyquist frequency ($c_j = 1$). Welch's segments
overlap by half. $\sum_j P(f_j) f_s/L$ is the variance of the (windowed) signal, so for a
population rate in Hz, $P$ is in Hz$^2$/Hz = Hz. For $N$ independent Poisson neurons at rate
$\nu$, binned, $P(f) = 2\nu/N$ at every $f > 0$.

??? cite "Reference"
    ```bibtex
    @article{welch1967use,
      author = {Welch, Peter D.},
      title = {The use of fast {Fourier} transform for the estimation of power spectra},
      journal = {IEEE Transactions on Audio and Electroacoustics}, volume = {15}, number = {2},
      pages = {70--73}, year = {1967}, doi = {10.1109/TAU.1967.1161901}}
    ```
"""

import numpy as np
from jaxtyping import Float, Real

from .spike_trains import SpikesLike, _require_positive, population_activity, spike_trains

METHODS = ("welch", "periodogram")


def signal_spectrum(
    signal: Real[np.ndarray, " samples"],
    *,
    sampling_ms: float,
    method: str = "welch",
    segment_ms: float | None = None,
) -> tuple[Float[np.ndarray, " freqs"], Float[np.ndarray, " freqs"]]:
    """One-sided power spectral density of a signal sampled every `sampling_ms`.

    **Arguments:**
    - `signal`: float array `(n_samples,)`.
    - `sampling_ms`: sample spacing $\\Delta$, ms, > 0.
    - `method`: `"welch"` (Hann-windowed segments, half overlap, averaged) or `"periodogram"`
      (the whole signal, rectangular window).
    - `segment_ms`: Welch segment length, ms; defaults to an eighth of the signal (at least
      8 samples). The frequency resolution is $10^3/$`segment_ms` Hz.

    **Returns:** `(frequencies Hz, power)`, each `(L // 2 + 1,)`; power in (signal unit)^2/Hz.
    """
    x = np.asarray(signal, np.float64)
    _require_positive("sampling_ms", sampling_ms)
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}.")
    if x.ndim != 1 or x.size < 8:
        raise ValueError(f"`signal` must be 1-D with at least 8 samples; got shape {x.shape}.")
    fs = 1e3 / sampling_ms
    if method == "periodogram":
        length = x.size
        window = np.ones(length)
        starts = np.array([0])
    else:
        length = max(8, x.size // 8) if segment_ms is None else int(round(segment_ms / sampling_ms))
        if not 8 <= length <= x.size:
            raise ValueError(
                f"`segment_ms` must span 8 to {x.size} samples ({8 * sampling_ms:g} to "
                f"{x.size * sampling_ms:g} ms); got {segment_ms!r} ms."
            )
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)  # periodic Hann
        starts = np.arange(0, x.size - length + 1, max(length // 2, 1))
    segments = x[starts[:, None] + np.arange(length)]
    segments = segments - segments.mean(axis=1, keepdims=True)
    power = np.mean(np.abs(np.fft.rfft(segments * window, axis=1)) ** 2, axis=0)
    power /= fs * np.sum(window**2)
    power[1 : (length + 1) // 2] *= 2.0  # one-sided: all but f = 0 and Nyquist (even length)
    return np.fft.rfftfreq(length, d=1.0 / fs), power


def power_spectrum(
    spikes: SpikesLike,
    *,
    bin_ms: float,
    method: str = "welch",
    segment_ms: float | None = None,
) -> tuple[Float[np.ndarray, " freqs"], Float[np.ndarray, " freqs"]]:
    r"""Power spectral density of the population rate $A_k = 10^3\,\sum_i N_{ik} / (N b)$ (Hz),
    spikes counted in bins of `bin_ms` $b$.

    **Arguments:**
    - `spikes`: see `spike_trains`; the window and `n` must be known.
    - `bin_ms`: bin width, ms, > 0 (the Nyquist frequency is $500/b$ Hz).
    - `method`, `segment_ms`: as `signal_spectrum`.

    **Returns:** `(frequencies Hz, power Hz^2/Hz)`.
    """
    trains = spike_trains(spikes)
    _require_positive("bin_ms", bin_ms)
    rate = population_activity(trains, bin_ms=bin_ms) * 1e3 / (trains.size() * bin_ms)
    return signal_spectrum(rate, sampling_ms=bin_ms, method=method, segment_ms=segment_ms)
