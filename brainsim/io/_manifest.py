"""Manifests: the JSON that says what a saved file is, which format version wrote it, and the
checksums of its payload; plus the one error every reader raises."""

import datetime
import importlib.metadata
import json
import pathlib
from typing import Any

from ._atomic import atomic_write


class FileFormatError(ValueError):
    """A saved file (checkpoint, network, result) is missing a part, truncated, corrupted (its
    checksum differs), of another format or format version, or does not match what it is
    loaded into (another network's shapes). The message names the file and the part."""


def versions() -> dict[str, str]:
    """The versions of the packages whose behaviour a saved file depends on."""
    names = ("brainsim", "jax", "jaxlib", "equinox", "numpy")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


def stamp(kind: str, version: int) -> dict[str, Any]:
    """The fields every manifest starts with."""
    return {
        "format": kind,
        "format_version": version,
        "versions": versions(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def check_stamp(manifest: Any, kind: str, version: int, where: str) -> dict:
    """`manifest` as a dict after checking it is a `kind` file of format `version`."""
    if not isinstance(manifest, dict) or manifest.get("format") != kind:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise FileFormatError(f"{where} is not a {kind} file (format {found!r}).")
    found = manifest.get("format_version")
    if found != version:
        raise FileFormatError(
            f"{where} has format version {found!r}; this brainsim (version "
            f"{versions()['brainsim']}) reads {kind} format version {version} only. It was written "
            f"by brainsim {manifest.get('versions', {}).get('brainsim', 'unknown')}: load it with "
            "that version, or save it again."
        )
    return manifest


def write_json(path: pathlib.Path, content: dict) -> None:
    """Write `content` as JSON to `path` atomically (the commit point of a save)."""
    text = json.dumps(content, indent=1, sort_keys=True, allow_nan=False).encode()
    with atomic_write(path) as file:
        file.write(text)


def read_json(path: pathlib.Path, what: str) -> Any:
    """The JSON content of `path`; a truncated or garbled file raises `FileFormatError`."""
    try:
        text = pathlib.Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no file {path}.") from None
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(
            f"{what}: {path} is not valid JSON (truncated or corrupted: {error})."
        ) from None
