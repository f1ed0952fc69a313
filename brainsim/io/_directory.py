"""The checkpoint directory: its manifest, its payload files, and the order they are written in.

    <directory>/manifest.json                 what the checkpoint holds (the commit point)
    <directory>/network-<sha256[:16]>.eqx     the network's leaves (content-addressed)
    <directory>/state-<run>-<step>.eqx        the `NetworkState` at `step`
    <directory>/records-<run>-<a>-<b>.npz     records of run steps a..b (one per checkpoint)

A save writes every new payload file under a name no manifest uses yet (each atomically), and
only then replaces `manifest.json` (atomically): a crash or an exception before that leaves
the previous manifest and every file it names untouched. Files no manifest names any more
are deleted after the commit.
"""

import os
import pathlib
import re

import jax
import jax.random as jr

from ..network import Network, NetworkState
from ..result import RecordSegment
from ._atomic import fsync_directory
from ._manifest import FileFormatError, check_stamp, read_json, stamp, write_json
from ._payload import check_leaves, check_network, leaf_table, network_entry, read_tree, write_tree
from ._segments import read_segment

FORMAT = "brainsim-checkpoint"
FORMAT_VERSION = 1
"""The version of the checkpoint layout this brainsim writes and reads."""
MANIFEST = "manifest.json"
_OURS = re.compile(r"(network-.+\.eqx|state-.+\.eqx|records-.+\.npz|\.tmp-.+)")


def check_directory(path, argument: str) -> pathlib.Path:
    """`path` as a `pathlib.Path`, or a `TypeError` naming `argument`."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`{argument}` must be a directory path (str or os.PathLike); got {type(path).__name__}."
        )
    return pathlib.Path(path)


def write_network(directory: pathlib.Path, network: Network) -> dict:
    """Write `network`'s leaves to `directory/network-<sha>.eqx`; the manifest's network entry."""
    entry = write_tree(directory, "network-new.eqx", network)
    name = f"network-{entry['sha256'][:16]}.eqx"
    os.replace(directory / entry["file"], directory / name)
    return {**entry, "file": name, **network_entry(network)}


def write_state(directory: pathlib.Path, name: str, state: NetworkState) -> dict:
    """Write `state`'s leaves to `directory/name`; the manifest's state entry."""
    return {**write_tree(directory, name, state), "leaves": leaf_table(state, hashes=False)}


def manifest(
    *, step: int | None, key: dict | None, network: dict, state: dict | None, records: list, run: dict | None
) -> dict:
    """A checkpoint manifest (`key` already as JSON, or `None`)."""
    return stamp(FORMAT, FORMAT_VERSION) | {
        "step": step,
        "key": key,
        "network": network,
        "state": state,
        "records": records,
        "run": run,
    }


def commit(directory: pathlib.Path, content: dict) -> None:
    """Make the payload files just written durable (one directory fsync for all of them),
    replace `directory/manifest.json` with `content` (atomically), then delete the payload
    files it no longer names (whether those deletions survive a crash does not matter)."""
    fsync_directory(directory)
    write_json(directory / MANIFEST, content)
    keep = {MANIFEST, content["network"]["file"]}
    keep |= {entry["file"] for entry in content["records"]}
    if content["state"] is not None:
        keep.add(content["state"]["file"])
    for path in directory.iterdir():
        if _OURS.fullmatch(path.name) and path.name not in keep:
            path.unlink(missing_ok=True)


def read_manifest(directory: pathlib.Path, argument: str) -> dict:
    """The checked manifest of the checkpoint in `directory`."""
    where = f"checkpoint {directory}"
    if not directory.is_dir():
        raise FileNotFoundError(f"`{argument}`: no checkpoint directory {directory}.")
    content = read_json(directory / MANIFEST, f"`{argument}`: {where}")
    content = check_stamp(content, FORMAT, FORMAT_VERSION, where)
    for part in ("step", "key", "network", "state", "records", "run"):
        if part not in content:
            raise FileFormatError(f"{where}: its manifest has no `{part}` (edited or truncated).")
    return content


def load_network_from(directory: pathlib.Path, content: dict, like: Network) -> Network:
    """The saved network, with `like`'s structure, after checking sizes, shapes and checksum."""
    where = f"checkpoint {directory}"
    check_network(content["network"], like, where, values=False, given="`like`")
    return read_tree(directory, content["network"], like, where)


def load_state(directory: pathlib.Path, content: dict, network: Network) -> NetworkState:
    """The saved `NetworkState`, checked against the structure `network.init_state` has."""
    where = f"checkpoint {directory}"
    if content["state"] is None:
        raise FileFormatError(
            f"{where} holds a network only (written by `save_network`); use `load_network`."
        )
    dt = (content["run"] or {}).get("dt") or 0.1
    like = jax.eval_shape(lambda: network.init_state(key=jr.key(0), dt=dt))
    check_leaves(content["state"]["leaves"], like, "state", where, "the state `network.init_state` makes")
    return read_tree(directory, content["state"], like, where)


def load_records(directory: pathlib.Path, content: dict) -> list[RecordSegment]:
    """The record segments, in order, after checking that they cover the run without gaps."""
    where = f"checkpoint {directory}"
    segments, end = [], None
    for entry in content["records"]:
        if end is not None and entry["first"] != end:
            raise FileFormatError(
                f"{where}: record segment `{entry['file']}` does not follow the previous one."
            )
        segments.append(read_segment(directory, entry, where))
        end = entry["end"]
    return segments
