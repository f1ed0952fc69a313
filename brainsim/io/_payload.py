"""Checkpoint payloads: pytrees written with `equinox.tree_serialise_leaves`, checked on the
way back against the sizes, shapes, dtypes and checksums their manifest records."""

import hashlib
import io
import pathlib
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np

from ..network import Network
from ._atomic import HashingWriter, atomic_write
from ._manifest import FileFormatError


def leaf_table(tree, *, hashes: bool) -> list[dict]:
    """Per leaf of `tree` (arrays, Python scalars or `jax.ShapeDtypeStruct`s): its path, shape,
    dtype and (with `hashes`) the sha256 of its bytes."""
    table = []
    for path, leaf in jtu.tree_flatten_with_path(tree)[0]:
        if isinstance(leaf, jax.ShapeDtypeStruct | jax.Array | np.ndarray):
            shape, dtype = leaf.shape, np.dtype(leaf.dtype)
        else:  # a Python scalar: saved as NumPy makes it
            shape, dtype = (), np.asarray(leaf).dtype
        row = {"path": jtu.keystr(path), "shape": list(shape), "dtype": dtype.str}
        if hashes:
            x = np.ascontiguousarray(leaf).reshape(-1).view(np.uint8)
            row["sha256"] = hashlib.sha256(x).hexdigest()
        table.append(row)
    return table


def write_tree(directory: pathlib.Path, name: str, tree) -> dict:
    """Serialise `tree`'s leaves to `directory/name` atomically; the manifest entry."""
    with atomic_write(directory / name, sync_directory=False) as file:  # `commit` syncs the directory
        writer = HashingWriter(file)
        eqx.tree_serialise_leaves(writer, tree)
    return {"file": name, "sha256": writer.sha256.hexdigest(), "bytes": writer.bytes}


def read_payload(directory: pathlib.Path, entry: dict, where: str) -> bytes:
    """The bytes of the file `entry` names, after checking its size and sha256."""
    path = directory / entry["file"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(f"{where}: its file `{entry['file']}` is missing.") from None
    if len(data) != entry["bytes"]:
        raise FileFormatError(
            f"{where}: `{entry['file']}` has {len(data)} bytes, its manifest says {entry['bytes']} "
            "(truncated or overwritten)."
        )
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise FileFormatError(f"{where}: `{entry['file']}` does not match its sha256 checksum (corrupted).")
    return data


def read_tree(directory: pathlib.Path, entry: dict, like, where: str):
    """The pytree stored in `entry`'s file, with the structure of `like` (arrays or
    `jax.ShapeDtypeStruct`s; check `entry["leaves"]` against it first with `check_leaves`)."""
    data = read_payload(directory, entry, where)
    try:
        return eqx.tree_deserialise_leaves(io.BytesIO(data), like)
    except Exception as error:  # a checksummed file that still does not parse: another writer
        raise FileFormatError(
            f"{where}: `{entry['file']}` cannot be read into the expected tree ({error})."
        ) from None


def check_leaves(saved: list[dict], like, what: str, where: str, given: str) -> None:
    """The saved leaf table has the paths, shapes and dtypes of `like`'s leaves; otherwise a
    `FileFormatError` naming the first leaf that differs and both shapes (`given`: what the
    message calls `like`)."""
    expected = leaf_table(like, hashes=False)
    saved_paths = [row["path"] for row in saved]
    expected_paths = [row["path"] for row in expected]
    if saved_paths != expected_paths:
        missing = [p for p in expected_paths if p not in saved_paths]
        extra = [p for p in saved_paths if p not in expected_paths]
        raise FileFormatError(
            f"{where}: the saved {what} has another structure than {given}: leaves "
            f"{missing} are not in the checkpoint, leaves {extra} are not in {given}."
        )
    for row, want in zip(saved, expected, strict=True):
        if row["shape"] != want["shape"] or row["dtype"] != want["dtype"]:
            raise FileFormatError(
                f"{where}: {what} leaf `{row['path']}` has shape {tuple(row['shape'])} and dtype "
                f"{np.dtype(row['dtype'])} in the checkpoint, but shape {tuple(want['shape'])} and "
                f"dtype {np.dtype(want['dtype'])} in {given}."
            )


# -- networks ----------------------------------------------------------------------------------
def network_entry(network: Network) -> dict:
    """What identifies a network: population sizes, static structure and per-leaf checksums."""
    return {
        "sizes": network.population_sizes,
        "structure": structure(network),
        "leaves": leaf_table(network, hashes=True),
    }


def structure(network: Network) -> str:
    """The pytree structure with its static values (names, sizes, delays, model types), with
    memory addresses (of functions held as static fields) removed so it is stable across runs."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", str(jtu.tree_structure(network)))


def check_network(saved: dict, network: Network, where: str, *, values: bool, given: str) -> None:
    """`network` matches the checkpointed one in sizes, structure, leaf shapes and (with
    `values`) leaf contents; otherwise a `FileFormatError` naming the first difference
    (`given`: what the message calls `network`, e.g. "`like`")."""
    sizes = network.population_sizes
    if list(saved["sizes"]) != list(sizes):
        raise FileFormatError(
            f"{where}: the checkpoint has populations {list(saved['sizes'])}, {given} {list(sizes)}."
        )
    for name, n in saved["sizes"].items():
        if sizes[name] != n:
            raise FileFormatError(
                f"{where}: population `{name}` has {n} neurons in the checkpoint and {sizes[name]} "
                f"in {given}: a checkpoint of another network shape."
            )
    check_leaves(saved["leaves"], network, "network", where, given)
    mine = structure(network)
    if saved["structure"] != mine:
        at = next((i for i, (a, b) in enumerate(zip(saved["structure"], mine, strict=False)) if a != b), None)
        at = min(len(mine), len(saved["structure"])) if at is None else at
        raise FileFormatError(
            f"{where}: the static structure of {given} (model types, names, delays, buffer sizes) "
            f"differs from the checkpoint's: ...{saved['structure'][max(0, at - 60) : at + 40]}... in "
            f"the checkpoint, ...{mine[max(0, at - 60) : at + 40]}... in {given}."
        )
    if values:
        for row, now in zip(saved["leaves"], leaf_table(network, hashes=True), strict=True):
            if row["sha256"] != now["sha256"]:
                raise FileFormatError(
                    f"{where}: network leaf `{row['path']}` has other values in {given} than in the "
                    "checkpoint (another key, parameter or connectivity): resume with the network that was "
                    "checkpointed, or start from `load_checkpoint(...).state` explicitly."
                )


# -- keys --------------------------------------------------------------------------------------
def key_to_json(key) -> dict:
    """A `jax.random` key as JSON: its implementation's name (`None` for a legacy `uint32[2]`
    key) and its raw words."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return {"impl": str(jr.key_impl(key)), "data": np.asarray(jr.key_data(key)).tolist()}
    return {"impl": None, "data": np.asarray(key).tolist()}


def key_from_json(saved: dict):
    """The key `key_to_json` described."""
    data = np.asarray(saved["data"], np.uint32)
    if saved["impl"] is None:
        return jnp.asarray(data)
    return jr.wrap_key_data(data, impl=saved["impl"])
