"""`SimulationResult`s to and from NumPy `.npz` files.

One `.npz` (a zip of `.npy` arrays, readable by NumPy alone, in any language with a zip and an
`.npy` reader) holds a whole result under plain names:

| name | array |
| --- | --- |
| `manifest` | JSON (0-d string): format and its version, `dt`, sizes, ..., every array's sha256 |
| `spike_counts/<pop>` | spikes per step, `(n_steps,)`, per spiking population |
| `rates/<pop>` | mean rate over the run, Hz (0-d) |
| `spikes/<pop>/times`, `spikes/<pop>/indices` | one entry per spike: time (ms, float64), neuron (int64) |
| `values/<pop>`, `value_times` | value-population samples `(n_samples, n)` and their times (ms) |
| `traces/<monitor>`, `trace_times/<monitor>` | monitor samples and their times (ms) |
| `final_state/<i>` | the leaves of the final `NetworkState` (paths in the manifest) |

NPZ rather than HDF5/NWB: it needs nothing beyond NumPy, keeps dtypes exactly, and its zip
members carry CRC-32s; NWB would add a large schema dependency for data that are a few flat
arrays per population (converting these arrays to NWB's `Units` table is direct if needed).
"""

import hashlib
import json
import os
import pathlib
import zipfile

import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np

from ..network import Network, NetworkState
from ..result import SimulationResult
from ._atomic import atomic_write
from ._manifest import FileFormatError, check_stamp, stamp

FORMAT = "brainsim-result"
FORMAT_VERSION = 1
"""The version of the `.npz` layout `save_result` writes and `load_result` reads."""


def save_result(result: SimulationResult, path: str | os.PathLike) -> pathlib.Path:
    """Write `result` to the `.npz` file `path`, atomically: a failed save leaves any file
    already at `path` as it was.

    **Arguments:**
    - `result`: what `brainsim.simulate` returned.
    - `path`: the file to write (conventionally ending in `.npz`; no suffix is added).

    **Returns:** `path` as a `pathlib.Path`.

    Spikes are stored as times (ms) and neuron indices; counts per step, rates, values,
    traces (with their sample times), overflow counts and the final state come along, so
    `load_result` gives back an equal result.
    """
    if not isinstance(result, SimulationResult):
        raise TypeError(f"`result` must be a `SimulationResult`; got {type(result).__name__}.")
    path = _check_path(path)
    arrays = {}
    for name, counts in result.counts.items():
        arrays[f"spike_counts/{name}"] = np.asarray(counts)
        arrays[f"rates/{name}"] = np.asarray(result.rates[name], np.float64)
    for name, record in result.spikes.items():
        arrays[f"spikes/{name}/times"] = np.asarray(record.times, np.float64)
        arrays[f"spikes/{name}/indices"] = np.asarray(record.indices, np.int64)
    for name, samples in result.value_samples.items():
        arrays[f"values/{name}"] = np.asarray(samples)
    if result.value_samples:
        arrays["value_times"] = result.value_times()
    for name, samples in result.trace_samples.items():
        arrays[f"traces/{name}"] = np.asarray(samples)
        arrays[f"trace_times/{name}"] = result.trace_times(name)
    state_paths = None
    if result.final_state is not None:
        flat = jtu.tree_flatten_with_path(result.final_state)[0]
        state_paths = [jtu.keystr(p) for p, _ in flat]
        for index, (_, leaf) in enumerate(flat):
            arrays[f"final_state/{index}"] = np.asarray(leaf)
    manifest = stamp(FORMAT, FORMAT_VERSION) | {
        "dt": result.dt,
        "duration": result.duration,
        "n_steps": result.n_steps,
        "start_time": result.start_time,
        "sizes": [[name, n] for name, n in result.sizes],
        "spiking": list(result.counts),
        "recorded_spikes": list(result.spike_steps),
        "values": list(result.value_samples),
        "value_every": result.value_every,
        "traces": list(result.trace_samples),
        "trace_every": [[name, every] for name, every in result.trace_every],
        "overflow": dict(result.overflow),
        "final_state": state_paths,
        "arrays": {key: _describe(x) for key, x in arrays.items()},
    }
    arrays["manifest"] = np.array(json.dumps(manifest, sort_keys=True, allow_nan=False))
    with atomic_write(path) as file:
        np.savez(file, allow_pickle=False, **arrays)
    return path


def load_result(path: str | os.PathLike, *, network: Network | None = None) -> SimulationResult:
    """Read a result written by `save_result`.

    **Arguments:**
    - `path`: the `.npz` file.
    - `network`: optional; the network that produced the result. With it the final state is
      rebuilt as a `NetworkState` (its shapes checked against the network's); without it
      `final_state` is `None` (its arrays stay readable with `numpy.load`).

    **Returns:** the `SimulationResult`, equal to the one saved.

    Raises `FileFormatError` (a `ValueError`) naming the file and the part when the file is
    truncated or corrupted (an array's checksum differs), of another format or format
    version, or when `network`'s populations or state shapes differ from the result's.
    """
    path = pathlib.Path(_check_path(path))
    if network is not None and not isinstance(network, Network):
        raise TypeError(f"`network` must be a `bs.Network` or None; got {type(network).__name__}.")
    where = f"result file {path}"
    arrays = _read_npz(path, where)
    if "manifest" not in arrays:
        raise FileFormatError(f"{where} has no `manifest`: not a brainsim result file.")
    try:
        manifest = json.loads(str(arrays["manifest"]))
    except json.JSONDecodeError as error:
        raise FileFormatError(f"{where}: its manifest is not valid JSON ({error}).") from None
    manifest = check_stamp(manifest, FORMAT, FORMAT_VERSION, where)
    for key, expected in manifest["arrays"].items():
        if key not in arrays:
            raise FileFormatError(f"{where} is missing array `{key}` (truncated or edited).")
        if _describe(arrays[key]) != expected:
            raise FileFormatError(
                f"{where}: array `{key}` does not match its checksum, shape or dtype in the "
                "manifest (corrupted)."
            )
    sizes = tuple((name, int(n)) for name, n in manifest["sizes"])
    dt, start_time = float(manifest["dt"]), float(manifest["start_time"])
    spike_steps, spike_indices = {}, {}
    for name in manifest["recorded_spikes"]:
        times = arrays[f"spikes/{name}/times"]
        steps = np.rint((times - start_time) / dt).astype(np.int64) - 1
        if not np.array_equal(start_time + (steps + 1) * dt, times):
            raise FileFormatError(f"{where}: spike times of `{name}` are not on the `dt` grid.")
        spike_steps[name] = steps
        spike_indices[name] = arrays[f"spikes/{name}/indices"]
    final_state = None
    if network is not None:
        if network.population_sizes != dict(sizes):
            raise FileFormatError(
                f"{where}: `network` has populations {network.population_sizes}, the result {dict(sizes)}."
            )
        if manifest["final_state"] is not None:
            final_state = _rebuild_state(network, dt, manifest, arrays, where)
    return SimulationResult(
        dt=dt,
        duration=float(manifest["duration"]),
        n_steps=int(manifest["n_steps"]),
        start_time=start_time,
        sizes=sizes,
        counts={name: arrays[f"spike_counts/{name}"] for name in manifest["spiking"]},
        spike_steps=spike_steps,
        spike_indices=spike_indices,
        value_samples={name: arrays[f"values/{name}"] for name in manifest["values"]},
        value_every=int(manifest["value_every"]),
        trace_samples={name: arrays[f"traces/{name}"] for name in manifest["traces"]},
        trace_every=tuple((name, int(every)) for name, every in manifest["trace_every"]),
        final_state=final_state,
        overflow={name: int(n) for name, n in manifest["overflow"].items()},
    )


def _check_path(path) -> pathlib.Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a file path (str or os.PathLike); got {type(path).__name__}.")
    return pathlib.Path(path)


def _describe(x: np.ndarray) -> dict:
    """Shape, dtype and sha256 of an array's bytes."""
    x = np.ascontiguousarray(x)
    return {
        "shape": list(x.shape),
        "dtype": x.dtype.str,
        "sha256": hashlib.sha256(x.reshape(-1).view(np.uint8)).hexdigest(),
    }


def _read_npz(path: pathlib.Path, where: str) -> dict[str, np.ndarray]:
    """Every array of the `.npz` at `path`, read fully (so each zip member's CRC is checked)."""
    if not path.exists():
        raise FileNotFoundError(f"`path`: no file {path}.")
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                arrays[key] = npz[key]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise FileFormatError(f"{where} is truncated or corrupted and cannot be read ({error}).") from None
    return arrays


def _rebuild_state(network: Network, dt: float, manifest: dict, arrays: dict, where: str) -> NetworkState:
    """The saved final state as a `NetworkState` with the structure `network.init_state` has."""
    skeleton = jax.eval_shape(lambda: network.init_state(key=jr.key(0), dt=dt))
    flat, treedef = jtu.tree_flatten_with_path(skeleton)
    saved = manifest["final_state"]
    expected = [jtu.keystr(p) for p, _ in flat]
    if saved != expected:
        missing = sorted(set(expected) - set(saved))
        extra = sorted(set(saved) - set(expected))
        raise FileFormatError(
            f"{where}: the saved final state does not have `network`'s state structure "
            f"(missing {missing}, unexpected {extra}); was it saved from another network?"
        )
    leaves = []
    for index, (keypath, like) in enumerate(flat):
        leaf = arrays[f"final_state/{index}"]
        if leaf.shape != like.shape or leaf.dtype != like.dtype:
            raise FileFormatError(
                f"{where}: final state `{jtu.keystr(keypath)}` has shape {leaf.shape} and dtype "
                f"{leaf.dtype}; `network` needs shape {like.shape} and dtype {like.dtype}."
            )
        leaves.append(jnp.asarray(leaf))
    return jtu.tree_unflatten(treedef, leaves)
