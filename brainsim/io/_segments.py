"""Record segments in checkpoints: the records a run made since its previous checkpoint, one
uncompressed `.npz` each, so a checkpoint writes only what is new."""

import io
import json
import pathlib
import zipfile

import numpy as np

from ..result import RecordSegment
from ._atomic import atomic_write, sha256_of_file
from ._manifest import FileFormatError
from ._payload import read_payload

_FIELDS = ("counts", "spike_steps", "spike_indices", "values", "traces")


def write_segment(directory: pathlib.Path, name: str, segment: RecordSegment, first_step: int) -> dict:
    """Write `segment` (covering run steps `first_step`.. onwards) to `directory/name`
    atomically; the manifest entry (file, sha256, bytes, `first`, `end` steps of the run)."""
    arrays = {"n_steps": np.asarray(segment.n_steps, np.int64)}
    names = {}
    for field in _FIELDS:
        entries = getattr(segment, field)
        names[field] = list(entries)
        for index, (_, x) in enumerate(entries.items()):
            arrays[f"{field}/{index}"] = np.asarray(x)
    names["overflow"] = {k: int(v) for k, v in segment.overflow.items()}
    arrays["names"] = np.array(json.dumps(names))
    path = directory / name
    with atomic_write(path, sync_directory=False) as file:  # `commit` syncs the directory
        np.savez(file, allow_pickle=False, **arrays)
    sha256, size = sha256_of_file(path)
    return {
        "file": name,
        "sha256": sha256,
        "bytes": size,
        "first": first_step,
        "end": first_step + segment.n_steps,
    }


def read_segment(directory: pathlib.Path, entry: dict, where: str) -> RecordSegment:
    """The segment `entry` names, after checking its size and checksum."""
    data = read_payload(directory, entry, where)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        names = json.loads(str(arrays["names"]))
        fields = {
            field: {name: arrays[f"{field}/{index}"] for index, name in enumerate(names[field])}
            for field in _FIELDS
        }
        n_steps = int(arrays["n_steps"])
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as error:
        raise FileFormatError(f"{where}: `{entry['file']}` is not a record segment ({error}).") from None
    if n_steps != entry["end"] - entry["first"]:
        raise FileFormatError(
            f"{where}: `{entry['file']}` covers {n_steps} steps, its manifest says otherwise."
        )
    return RecordSegment(n_steps=n_steps, overflow=names["overflow"], **fields)
