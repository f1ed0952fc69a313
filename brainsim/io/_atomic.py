"""Writes that either complete or leave the previous file untouched.

A file is written to a temporary name in its own directory, flushed and `fsync`ed, then moved
over the final name with `os.replace` (atomic on POSIX and Windows), and the directory is
`fsync`ed so the rename itself survives a power cut. A crash or an exception at any point
leaves either the old file or the new one, never a mixture, and no temporary file behind
(except after a hard kill, which can leave a `.tmp-*` file that the next save ignores).
"""

import contextlib
import hashlib
import os
import pathlib
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

_CHUNK = 1 << 22


def fsync_directory(directory: pathlib.Path) -> None:
    """Make a rename or deletion in `directory` durable (a no-op where directories cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class HashingWriter:
    """A binary file wrapper that feeds everything written through it to a sha256 and counts
    the bytes (so a payload's checksum costs no second read)."""

    def __init__(self, file: BinaryIO):
        self._file = file
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        self.bytes += view.nbytes
        return self._file.write(view)

    def flush(self) -> None:
        self._file.flush()


@contextlib.contextmanager
def atomic_write(path: pathlib.Path, *, sync_directory: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; on normal exit fsync it and
    rename it to `path` (then fsync the directory, unless `sync_directory` is false because
    the caller syncs it once after several files), on an exception delete it and leave `path`
    as it was. Wrap the file in a `HashingWriter` to checksum what is written."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_directory:
        fsync_directory(path.parent)


def sha256_of_file(path: pathlib.Path) -> tuple[str, int]:
    """`(hex sha256, size in bytes)` of the file at `path`."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while block := file.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
