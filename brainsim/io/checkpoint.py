"""Checkpoints: a `Network`, its `NetworkState`, the key, the step and the records so far.

A checkpoint is a directory (layout in `brainsim.io._directory`): `manifest.json` (format and
format version, package versions, step, key words, `dt`, every payload file's sha256 and size,
the network's population sizes, static structure and per-leaf shapes, dtypes and checksums,
the state's per-leaf shapes and dtypes) and its payload files.

**Serialiser.** Network and state leaves are written with `equinox.tree_serialise_leaves`
(one `.npy` record per leaf, in pytree order). It comes with equinox (no new dependency),
stores exactly the array leaves of a Module, and reads them back into a "like" pytree that
supplies the static parts (names, sizes, model types, delays), which is how a `Network` holds
them. orbax-checkpoint would bring asynchronous, sharded saving of multi-host arrays, which a
single-host simulator does not need, with tensorstore and a larger dependency tree; its
restore also needs a target structure. Records go to NumPy `.npz` (see `brainsim.io.results`).

Because the static parts are not saved, loading needs the network built the same way:
`load_checkpoint(path, like=network)`. The manifest is checked first, so a checkpoint of
another network names the population or leaf that differs and both shapes.

**Atomicity.** Every file is written to a temporary name, flushed, `fsync`ed and renamed; the
manifest is replaced last. A failed or interrupted save leaves the previous checkpoint whole.
"""

import os
import pathlib
import uuid

import equinox as eqx
import jax
import jax.random as jr
import jax.tree_util as jtu
from jaxtyping import Array, PRNGKeyArray, UInt32

from ..network import Network, NetworkState
from ..result import SimulationResult
from ..run import check_key
from ._directory import (
    check_directory,
    commit,
    load_network_from,
    load_records,
    load_state,
    manifest,
    read_manifest,
    write_network,
    write_state,
)
from ._manifest import FileFormatError
from ._payload import key_from_json, key_to_json
from ._segments import write_segment


class Checkpoint(eqx.Module):
    """What `load_checkpoint` returns.

    **Fields:**
    - `network`: the saved `Network` (parameters and connectivity, in `like`'s structure).
    - `state`: the `NetworkState` at `step`.
    - `key`: the run's `jax.random` key (a step's randomness is derived from it and the step
      index, so passing it again continues the random stream).
    - `step`: steps taken (`state.step`).
    - `result`: the records of the run up to `step` (a `SimulationResult` whose `final_state`
      is `state`), or `None` if none were saved.
    - `run_duration`: ms, the whole duration of the `simulate` run that wrote the checkpoint
      (`None` for `save_checkpoint`); `run_duration - result.duration` ms are left.
    """

    network: Network
    state: NetworkState
    key: PRNGKeyArray | UInt32[Array, "2"]
    step: int = eqx.field(static=True)
    result: SimulationResult | None
    run_duration: float | None = eqx.field(static=True)


def save_network(network: Network, path: str | os.PathLike) -> pathlib.Path:
    """Save `network`'s parameters and connectivity (its array leaves) to the directory `path`.

    **Arguments:**
    - `network`: the `Network`.
    - `path`: a directory (created if missing; a checkpoint already there is replaced).

    **Returns:** `path` as a `pathlib.Path`. Read it back with `load_network(path, like=...)`.
    """
    _check_network(network)
    directory = check_directory(path, "path")
    directory.mkdir(parents=True, exist_ok=True)
    entry = write_network(directory, network)
    commit(directory, manifest(step=None, key=None, network=entry, state=None, records=[], run=None))
    return directory


def load_network(path: str | os.PathLike, *, like: Network) -> Network:
    """The network saved in the directory `path` (by `save_network`, `save_checkpoint` or
    `simulate(..., checkpoint_dir=...)`).

    **Arguments:**
    - `path`: the directory.
    - `like`: a `Network` built the same way (same populations, sizes, models, projections
      and connectivity shapes); it supplies the static parts, the file supplies the arrays.

    Raises `FileFormatError` naming the population or leaf whose size or shape differs, or the
    file that is missing, truncated or corrupted.
    """
    _check_network(like, "like")
    directory = check_directory(path, "path")
    return load_network_from(directory, read_manifest(directory, "path"), like)


def save_checkpoint(
    path: str | os.PathLike,
    *,
    network: Network,
    state: NetworkState,
    key: PRNGKeyArray | UInt32[Array, "2"],
    result: SimulationResult | None = None,
) -> pathlib.Path:
    """Save a network, its state, the key, the step and (optionally) the records so far.

    **Arguments:**
    - `path`: a directory (created if missing; a checkpoint already there is replaced, and
      stays whole if this save fails).
    - `network`, `state`: the `Network` and a `NetworkState` of it (e.g. `result.final_state`).
    - `key`: the `jax.random` key the run uses.
    - `result`: the records up to `state` (a `SimulationResult` whose last step is
      `state.step`), or `None`.

    **Returns:** `path` as a `pathlib.Path`. Continue with
    `checkpoint = load_checkpoint(path, like=network)` and
    `simulate(network, more, dt, key=checkpoint.key, initial_state=checkpoint.state)`.
    """
    _check_network(network)
    _check_state(network, state)
    check_key(key)
    step = int(state.step)
    records, run = [], None
    directory = check_directory(path, "path")
    directory.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    if result is not None:
        start = _check_result(network, result, step)
        name = f"records-{token}-{0:012d}-{result.n_steps:012d}.npz"
        records = [write_segment(directory, name, result.as_segment(), 0)]
        run = {
            "dt": result.dt,
            "n_steps": None,
            "start_step": start,
            "done": result.n_steps,
            "record_spikes": list(result.spike_steps),
            "record_values": list(result.value_samples),
            "value_every": result.value_every,
            "monitors": [[name, every] for name, every in result.trace_every],
            "inputs": None,
            "token": token,
        }
    content = manifest(
        step=step,
        key=key_to_json(key),
        network=write_network(directory, network),
        state=write_state(directory, f"state-{token}-{step:012d}.eqx", state),
        records=records,
        run=run,
    )
    commit(directory, content)
    return directory


def load_checkpoint(path: str | os.PathLike, *, like: Network) -> Checkpoint:
    """The checkpoint in the directory `path` (from `save_checkpoint` or `simulate`).

    **Arguments:**
    - `path`: the directory.
    - `like`: a `Network` built the same way as the saved one (see `load_network`).

    **Returns:** a `Checkpoint` (network, state, key, step, records so far).

    Every payload file is checked against its size and sha256 in the manifest, and the
    manifest against `like`: a truncated or corrupted file, another format version, or a
    checkpoint of another network shape raises `FileFormatError` naming the file or the
    population or leaf (with both shapes).
    """
    _check_network(like, "like")
    directory = check_directory(path, "path")
    content = read_manifest(directory, "path")
    network = load_network_from(directory, content, like)
    state = load_state(directory, content, network)
    step = int(state.step)
    if step != content["step"]:
        raise FileFormatError(
            f"checkpoint {directory}: its state is at step {step}, its manifest says {content['step']}."
        )
    run, result = content["run"], None
    if content["records"]:
        segments = load_records(directory, content)
        result = SimulationResult.from_segments(
            segments,
            sizes=tuple(network.population_sizes.items()),
            value_every=run["value_every"],
            trace_every=tuple((name, every) for name, every in run["monitors"]),
            dt=run["dt"],
            start_step=run["start_step"],
            final_state=state,
        )
        if run["start_step"] + result.n_steps != step:
            raise FileFormatError(
                f"checkpoint {directory}: its records end at step {run['start_step'] + result.n_steps}, "
                f"its state is at step {step}."
            )
    run_duration = None if run is None or run["n_steps"] is None else run["n_steps"] * run["dt"]
    return Checkpoint(
        network=network,
        state=state,
        key=key_from_json(content["key"]),
        step=step,
        result=result,
        run_duration=run_duration,
    )


def _check_network(network, argument: str = "network") -> None:
    if not isinstance(network, Network):
        raise TypeError(f"`{argument}` must be a `bs.Network`; got {type(network).__name__}.")


def _check_state(network: Network, state) -> None:
    """`state` is a `NetworkState` with the structure, shapes and dtypes `network` makes."""
    if not isinstance(state, NetworkState):
        raise TypeError(f"`state` must be a `NetworkState`; got {type(state).__name__}.")
    like = jax.eval_shape(lambda: network.init_state(key=jr.key(0)))
    expected, given = jtu.tree_flatten_with_path(like), jtu.tree_flatten_with_path(state)
    if expected[1] != given[1]:
        raise ValueError(
            f"`state` is not a state of `network`: structure {given[1]}, expected {expected[1]}."
        )
    for (path, want), (_, leaf) in zip(expected[0], given[0], strict=True):
        if leaf.shape != want.shape or leaf.dtype != want.dtype:
            raise ValueError(
                f"`state{jtu.keystr(path)}` has shape {leaf.shape} and dtype {leaf.dtype}; "
                f"`network` makes shape {want.shape} and dtype {want.dtype}."
            )


def _check_result(network: Network, result, step: int) -> int:
    """The first step of `result`, after checking it belongs to `network` and ends at `step`."""
    if not isinstance(result, SimulationResult):
        raise TypeError(f"`result` must be a `SimulationResult` or None; got {type(result).__name__}.")
    if result.population_sizes != network.population_sizes:
        raise ValueError(
            f"`result` has populations {result.population_sizes}, `network` {network.population_sizes}."
        )
    start = round(result.start_time / result.dt)
    if start + result.n_steps != step:
        raise ValueError(
            f"`result` ends at step {start + result.n_steps}, but `state` is at step {step}: save "
            "the result together with its own `final_state`."
        )
    return start
