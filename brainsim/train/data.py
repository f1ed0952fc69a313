r"""Spike-encoded data without internet: encoders, the bundled digits, and event-file readers.

- `poisson_spikes`: Bernoulli spikes per step with probability $r\,\Delta t$ (rates in Hz).
- `latency_spikes`: one spike per input at $t = \tau \log\frac{x}{x - \theta}$ for $x > \theta$.
- `digits_dataset`: scikit-learn's bundled 8x8 digits (1797 images, no download), encoded.
- `read_shd`: the Spiking Heidelberg Digits / Spiking Speech Commands HDF5 files.
- `read_nmnist`, `read_nmnist_dir`: N-MNIST's binary event files and their folder layout.

Event readers return an `EventSamples` (events per sample plus labels); `EventSamples.to_raster`
bins them into a `(T, batch, n_units)` array for `bs.run`'s data channel. The readers read files
the user already has; they download nothing. (`tonic` is not used: it requires librosa,
importRosbag and expelliarmus, far more than two file formats need.)

??? cite "References"
    ```bibtex
    @article{cramer2022heidelberg,
      author = {Cramer, Benjamin and Stradmann, Yannik and Schemmel, Johannes and Zenke, Friedemann},
      title = {The Heidelberg spiking data sets for the systematic evaluation of spiking neural networks},
      journal = {IEEE Trans. Neural Netw. Learn. Syst.}, volume = {33}, number = {7},
      pages = {2744--2757}, year = {2022}}
    @article{orchard2015converting,
      author = {Orchard, Garrick and Jayawant, Ajinkya and Cohen, Gregory K. and Thakor, Nitish},
      title = {Converting static image datasets to spiking neuromorphic datasets using saccades},
      journal = {Frontiers in Neuroscience}, volume = {9}, pages = {437}, year = {2015}}
    ```
"""

import dataclasses
import functools as ft
import importlib
import os
import pathlib
from typing import Literal

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

PathLike = str | os.PathLike


def poisson_spikes(
    rates_hz: Float[ArrayLike, "..."], n_steps: int, *, dt: float, key: PRNGKeyArray
) -> Float[Array, "n_steps ..."]:
    r"""Poisson spike trains on a time grid: each step spikes with probability $p = r\,\Delta t$.

    $p = r \cdot \Delta t \cdot 10^{-3}$ with $r$ in Hz and $\Delta t$ in ms; at most one spike per
    step, so $p \le 1$ is required (a Bernoulli process, Poisson in the limit $p \ll 1$).

    **Arguments:**
    - `rates_hz`: rates, Hz, >= 0, any shape.
    - `n_steps`: the number of steps `T`, >= 1.
    - `dt`: the step, ms, > 0.
    - `key`: JAX key.

    **Returns:** `(T, *shape)` 0/1 spikes, float32.
    """
    if n_steps < 1:
        raise ValueError(f"`n_steps` must be >= 1; got {n_steps!r}.")
    if not dt > 0:
        raise ValueError(f"`dt` must be > 0 ms; got {dt!r}.")
    rates = jnp.asarray(rates_hz, jnp.float32)
    try:
        concrete = np.asarray(rates)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        concrete = None
    if concrete is not None:
        if np.any(concrete < 0):
            raise ValueError("`rates_hz` must be >= 0 Hz.")
        if np.any(concrete * dt * 1e-3 > 1.0):
            raise ValueError(
                f"`rates_hz` up to {concrete.max()} Hz with `dt` = {dt} ms gives a spike probability "
                f"{concrete.max() * dt * 1e-3:.3g} > 1 per step; use a smaller `dt` or lower rates."
            )
    return _bernoulli_steps(key, rates, n_steps, dt)


@ft.partial(jax.jit, static_argnames=("n_steps", "dt"))
def _bernoulli_steps(key, rates, n_steps: int, dt: float):
    p = rates * jnp.float32(dt * 1e-3)  # Hz x ms x 1e-3: spikes per step
    return (jr.uniform(key, (n_steps, *rates.shape)) < p[None]).astype(jnp.float32)


def latency_spikes(
    intensity: Float[ArrayLike, "..."],
    n_steps: int,
    *,
    dt: float,
    tau: float = 20.0,
    theta: float = 0.2,
) -> Float[Array, "n_steps ..."]:
    r"""Latency code: one spike per input, earlier for brighter inputs, none below threshold.

    The spike time of a leaky integrator with time constant $\tau$ charged by a constant input
    $x$ to threshold $\theta$ (as in Zenke & Vogels 2021's latency-encoded datasets):

    $$t(x) = \tau \log\frac{x}{x - \theta}\ \text{ for } x > \theta,
    \qquad \text{no spike for } x \le \theta,$$

    placed in step $\lfloor t/\Delta t \rfloor$; a spike at or after $T\Delta t$ is not emitted.

    **Arguments:**
    - `intensity`: $x$, normalised to [0, 1] (1 = brightest), any shape.
    - `n_steps`: `T`, >= 1; `dt`: ms, > 0.
    - `tau`: ms, > 0; `theta`: the threshold, in (0, 1).

    **Returns:** `(T, *shape)` 0/1 spikes, float32, at most one per input.
    """
    if n_steps < 1:
        raise ValueError(f"`n_steps` must be >= 1; got {n_steps!r}.")
    if not dt > 0 or not tau > 0:
        raise ValueError(f"`dt` and `tau` must be > 0 ms; got {dt!r} and {tau!r}.")
    if not 0 < theta < 1:
        raise ValueError(f"`theta` must be in (0, 1); got {theta!r}.")
    return _latency_steps(jnp.asarray(intensity, jnp.float32), n_steps, dt, tau, theta)


@ft.partial(jax.jit, static_argnames=("n_steps", "dt", "tau", "theta"))
def _latency_steps(x, n_steps: int, dt: float, tau: float, theta: float):
    above = x > theta
    safe = jnp.where(above, x, 1.0)
    t = jnp.float32(tau) * jnp.log(safe / (safe - jnp.float32(theta)))  # ms
    step = jnp.where(above, jnp.floor(t / jnp.float32(dt)), n_steps).astype(jnp.int32)
    grid = jnp.arange(n_steps, dtype=jnp.int32).reshape((n_steps,) + (1,) * x.ndim)
    return (grid == step[None]).astype(jnp.float32)


def digits_dataset(
    *,
    encoding: Literal["poisson", "latency"],
    n_steps: int,
    dt: float = 1.0,
    key: PRNGKeyArray | None = None,
    max_rate_hz: float = 100.0,
    tau: float = 20.0,
    theta: float = 0.2,
) -> tuple[Float[Array, "n_steps 1797 64"], Int[Array, " 1797"]]:
    r"""scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes) as spikes.

    Pixel values 0..16 are scaled to intensities $x = I/16 \in [0, 1]$, one input neuron per pixel
    (row-major, 64 inputs). `"poisson"`: each pixel fires at $x \cdot$ `max_rate_hz` (see
    `poisson_spikes`). `"latency"`: each pixel above `theta` fires once at
    $\tau \log\frac{x}{x - \theta}$ ms (see `latency_spikes`). Needs scikit-learn (the images
    ship with it; nothing is downloaded).

    **Arguments:**
    - `encoding`: `"poisson"` or `"latency"`.
    - `n_steps`: `T`, >= 1; `dt`: ms, > 0.
    - `key`: JAX key, required for `"poisson"`.
    - `max_rate_hz`: the rate of a full-intensity pixel, Hz (`"poisson"`).
    - `tau`, `theta`: the latency code's time constant (ms) and threshold (`"latency"`).

    **Returns:** `(spikes (T, 1797, 64) float32, labels (1797,) int32)`.
    """
    try:  # optional (the `dev` extra), imported on first use as `sweep` does with pandas
        sklearn_datasets = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise ImportError(
            "`digits_dataset` needs scikit-learn for its bundled digits: `pip install scikit-learn`."
        ) from error
    digits = sklearn_datasets.load_digits()
    intensity = np.asarray(digits.data, np.float32) / 16.0
    labels = jnp.asarray(digits.target, jnp.int32)
    if encoding == "poisson":
        if key is None:
            raise ValueError('`digits_dataset(encoding="poisson")` needs a `key`.')
        spikes = poisson_spikes(intensity * np.float32(max_rate_hz), n_steps, dt=dt, key=key)
    elif encoding == "latency":
        spikes = latency_spikes(intensity, n_steps, dt=dt, tau=tau, theta=theta)
    else:
        raise ValueError(f'`encoding` must be "poisson" or "latency"; got {encoding!r}.')
    return spikes, labels


@dataclasses.dataclass(frozen=True)
class EventSamples:
    """Event data: one variable-length list of (time, unit) events per sample, and labels.

    **Fields:**
    - `times`: per sample, `(events,)` float64 event times, ms, >= 0.
    - `units`: per sample, `(events,)` int64 input units in `[0, n_units)`.
    - `labels`: `(samples,)` int64 classes.
    - `n_units`: the number of input units.
    """

    times: tuple[np.ndarray, ...]
    units: tuple[np.ndarray, ...]
    labels: np.ndarray
    n_units: int

    def __len__(self) -> int:
        return len(self.labels)

    def to_raster(
        self, n_steps: int, dt: float, *, samples: slice | np.ndarray | None = None
    ) -> Float[np.ndarray, "n_steps batch n_units"]:
        r"""Bin events into a time-first raster: entry `[t, b, u]` counts the events of unit `u`
        in sample `b` with time in $[t\Delta t, (t+1)\Delta t)$.

        Events at or after $T\Delta t$ are left out (the raster covers `n_steps * dt` ms; SHD
        trials last about 1 s). Counts can exceed 1 where events share a bin: use a smaller `dt`,
        or `np.minimum(raster, 1)` for 0/1 spikes.

        **Arguments:**
        - `n_steps`: `T`, >= 1; `dt`: bin width, ms, > 0.
        - `samples`: which samples (a slice or indices); all by default.

        **Returns:** float32 `(T, batch, n_units)`.
        """
        if n_steps < 1:
            raise ValueError(f"`n_steps` must be >= 1; got {n_steps!r}.")
        if not dt > 0:
            raise ValueError(f"`dt` must be > 0 ms; got {dt!r}.")
        chosen = np.arange(len(self))[samples] if samples is not None else np.arange(len(self))
        if chosen.size == 0:
            raise ValueError("`samples` selects no samples: the raster would have an empty batch.")
        raster = np.zeros((n_steps, chosen.size, self.n_units), np.float32)
        for b, i in enumerate(chosen.tolist()):  # over samples, on the host
            steps = np.floor(self.times[i] / dt).astype(np.int64)
            keep = steps < n_steps
            np.add.at(raster, (steps[keep], b, self.units[i][keep]), 1.0)
        return raster


def _open_hdf5(path: pathlib.Path):
    import h5py  # installed with nir (which requires it); declare it in pyproject's dependencies

    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r}: no such file.")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{str(path)!r} is not a readable HDF5 file ({error}).") from error


def read_shd(path: PathLike) -> EventSamples:
    """Read a Spiking Heidelberg Digits or Spiking Speech Commands file (HDF5).

    The layout (Cramer et al. 2022): `spikes/times`, one variable-length float array per sample,
    seconds; `spikes/units`, one variable-length integer array per sample, the cochlea channel in
    `[0, 700)`; `labels`, one integer per sample. Other groups (`extra/...`) are ignored. Times
    are converted to ms on reading.

    **Arguments:**
    - `path`: the `.h5` file (e.g. `shd_train.h5`, decompressed).

    **Returns:** an `EventSamples` with `n_units = 700`.

    **Raises:** `FileNotFoundError` for a missing file; `ValueError` naming the file for a
    file that is not HDF5, lacks one of the three datasets, or has samples of inconsistent
    lengths, negative times or units outside `[0, 700)`.
    """
    path = pathlib.Path(path)
    n_units = 700
    with _open_hdf5(path) as f:
        for name in ("spikes/times", "spikes/units", "labels"):
            if name not in f:
                raise ValueError(f"{str(path)!r} is not an SHD/SSC file: it has no `{name}` dataset.")
        times_ds, units_ds, labels = f["spikes/times"], f["spikes/units"], np.asarray(f["labels"][()])
        if not (len(times_ds) == len(units_ds) == len(labels)):
            raise ValueError(
                f"{str(path)!r}: `spikes/times`, `spikes/units` and `labels` must have one entry per "
                f"sample; got {len(times_ds)}, {len(units_ds)} and {len(labels)}."
            )
        all_times, all_units = times_ds[()], units_ds[()]  # one read each: object arrays of arrays
        times, units = [], []
        for i in range(len(labels)):  # over samples, on the host
            t = np.asarray(all_times[i], np.float64) * 1e3  # s -> ms
            u = np.asarray(all_units[i]).astype(np.int64)
            if t.shape != u.shape or t.ndim != 1:
                raise ValueError(f"{str(path)!r}: sample {i} has {t.size} times but {u.size} units.")
            if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
                raise ValueError(f"{str(path)!r}: sample {i} has negative or non-finite times.")
            if u.size and (u.min() < 0 or u.max() >= n_units):
                raise ValueError(
                    f"{str(path)!r}: sample {i} has units outside [0, {n_units}) (max {u.max()})."
                )
            times.append(t)
            units.append(u)
    labels = labels.astype(np.int64)
    if labels.ndim != 1:
        raise ValueError(f"{str(path)!r}: `labels` must be 1-D; got shape {labels.shape}.")
    return EventSamples(tuple(times), tuple(units), labels, n_units)


@dataclasses.dataclass(frozen=True)
class NMNISTEvents:
    """The events of one N-MNIST recording.

    **Fields:** `x`, `y` (pixel, int64, `[0, 34)`), `polarity` (int64, 1 = ON, 0 = OFF) and `t`
    (float64, ms), each `(events,)`.
    """

    x: np.ndarray
    y: np.ndarray
    polarity: np.ndarray
    t: np.ndarray


NMNIST_SENSOR = (34, 34)  # (width, height), pixels


def read_nmnist(path: PathLike, *, sensor_size: tuple[int, int] = NMNIST_SENSOR) -> NMNISTEvents:
    """Read one N-MNIST binary file (Orchard et al. 2015).

    Each event is 40 bits, 5 bytes, most significant first: byte 0 is the x address (8 bits),
    byte 1 the y address (8 bits), then the polarity (1 bit: 1 = ON) and a 23-bit timestamp in
    microseconds (bits 22..0 over the rest of byte 2 and bytes 3-4). Timestamps are converted
    to ms. Overflow-marker events are not interpreted: a file that holds them fails the address
    check (N-MNIST recordings last about 300 ms, far below the 23-bit range of 8.39 s).

    **Arguments:**
    - `path`: a `.bin` file.
    - `sensor_size`: `(width, height)` in pixels; addresses must lie inside it.

    **Returns:** an `NMNISTEvents`.

    **Raises:** `FileNotFoundError` for a missing file; `ValueError` naming the file for a size
    that is not a multiple of 5 bytes (truncated), addresses outside the sensor, or decreasing
    timestamps.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r}: no such file.")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise ValueError(
            f"{str(path)!r}: {raw.size} bytes is not a whole number of 5-byte (40-bit) N-MNIST "
            f"events; the file is truncated or not N-MNIST."
        )
    events = raw.reshape(-1, 5).astype(np.int64)
    x, y = events[:, 0], events[:, 1]
    polarity = events[:, 2] >> 7
    t_us = ((events[:, 2] & 0x7F) << 16) | (events[:, 3] << 8) | events[:, 4]
    width, height = sensor_size
    outside = (x >= width) | (y >= height)
    if np.any(outside):
        k = int(np.argmax(outside))
        raise ValueError(
            f"{str(path)!r}: event {k} has address (x={x[k]}, y={y[k]}) outside the "
            f"{width}x{height} sensor; the file is corrupt or not N-MNIST."
        )
    if t_us.size > 1 and np.any(np.diff(t_us) < 0):
        k = int(np.argmax(np.diff(t_us) < 0)) + 1
        raise ValueError(
            f"{str(path)!r}: timestamps decrease at event {k} ({t_us[k - 1]} us then {t_us[k]} us); "
            "the file is corrupt."
        )
    return NMNISTEvents(x, y, polarity, t_us.astype(np.float64) * 1e-3)


def read_nmnist_dir(root: PathLike, *, sensor_size: tuple[int, int] = NMNIST_SENSOR) -> EventSamples:
    """Read an N-MNIST split laid out as `root/<digit>/<name>.bin` (e.g. `Train/3/00017.bin`).

    The label is the folder's digit. Each event becomes the input unit
    `polarity * width * height + y * width + x`, so `n_units = 2 * 34 * 34 = 2312`.

    **Arguments:** `root`: the split's folder; `sensor_size`: `(width, height)`.

    **Returns:** an `EventSamples`, samples sorted by label then file name.
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r}: no such folder.")
    width, height = sensor_size
    files = sorted(
        (int(folder.name), file)
        for folder in root.iterdir()
        if folder.is_dir() and folder.name.isdigit()
        for file in folder.glob("*.bin")
    )
    if not files:
        raise ValueError(f"{str(root)!r} holds no `<digit>/*.bin` files.")
    times, units = [], []
    for _, file in files:
        ev = read_nmnist(file, sensor_size=sensor_size)
        times.append(ev.t)
        units.append(ev.polarity * width * height + ev.y * width + ev.x)
    labels = np.array([label for label, _ in files], np.int64)
    return EventSamples(tuple(times), tuple(units), labels, 2 * width * height)
