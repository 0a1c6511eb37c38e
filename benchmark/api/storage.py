"""Writing files so that a reader never sees half of one, for the harness and plugins alike."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch


@contextmanager
def atomic_write(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Write to a temporary file beside `path`, then rename it over `path`.

    On any failure the temporary file is removed and `path` is left as it was, so a crash
    or a full disk never leaves a truncated record, checkpoint or cache entry behind.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, encoding=encoding) as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def name_too_long(path: object) -> str:
    """What to tell a user whose path has a name longer than the filesystem allows."""
    return (f"{path}: a name in this path is longer than the filesystem allows; use shorter "
            f"folder and file names.")


def regular_file(path: Path) -> Path:
    """`path`, if it names a regular file; ValueError says why not (no traceback for a name
    longer than the filesystem allows)."""
    path = Path(path)
    try:
        regular = path.is_file()
    except OSError as exc:  # a name longer than the filesystem allows, a loop of links
        if exc.errno == errno.ENAMETOOLONG:
            raise ValueError(name_too_long(path)) from None
        raise ValueError(f"{path}: {exc.strerror}") from None
    if not regular:
        raise ValueError(f"{path} is not a regular file")
    return path


def read_regular_file(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; ValueError says why not.

    A FIFO would block forever and a device such as /dev/zero would fill memory, so only a
    regular file is opened, and reading stops one byte past the limit.
    """
    with open(regular_file(path), "rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise ValueError(f"{path} is larger than {limit // 2**20} MiB, which no {what} is")
    return raw


def parse_json(text: str | bytes, where: str) -> Any:
    """JSON as Python values; ValueError (naming `where`) for bad or absurdly nested JSON,
    which the standard parser reports as a RecursionError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{where} is nested too deeply to be medbench's JSON") from None


def tensor_sha256(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and values: what its content is, wherever it came
    from."""
    array = np.ascontiguousarray(tensor.detach().cpu().numpy())
    digest = hashlib.sha256(f"{array.dtype.str}:{list(array.shape)};".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()
