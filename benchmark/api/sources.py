"""What a file-backed dataset declares about the files it reads: where they officially come
from, how to check them, under which licence, and how to cite them.

The harness finds the files (``--data-dir``, ``$MEDBENCH_DATA``, ``~/.cache/medbench/data``,
then the dataset's conventional folders), verifies their checksums and hands their paths to
:meth:`FileDataset.decode`. ``medbench datasets fetch`` downloads the ones with a URL.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from medbench.api.data import SplitArrays
from medbench.api.dataset import DatasetSpec
from medbench.api.errors import DataFileError

CHECKSUM_ALGORITHMS = ("md5", "sha256")
_CHECKSUM = re.compile(r"^(md5:[0-9a-f]{32}|sha256:[0-9a-f]{64})$")


@dataclass(frozen=True)
class DataFile:
    """One file as its publisher distributes it, e.g. ``pneumoniamnist_64.npz``.

    ``checksum`` is ``"md5:<hex>"`` or ``"sha256:<hex>"``, as the publisher states it, or
    ``""`` where the publisher states none (datasets behind a registration, released as
    folders of files): the file is then found and hashed, its hash recorded, never
    verified, and the record's split hashes are what two labs compare.
    ``url`` is None for data behind a registration or a licence that forbids redistribution;
    ``how_to_get`` then says in one line where a user obtains it.
    """

    name: str  # relative path inside the dataset's data folder, '/'-separated; a trailing
    # '/' names a folder (a release of many files with no checksum): its listing is hashed
    checksum: str
    url: str | None = None
    size_bytes: int | None = None
    how_to_get: str = ""

    def problems(self) -> list[str]:
        found = []
        parts = self.name.removesuffix("/").split("/")
        if not self.name or self.name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            found.append(f"file name {self.name!r} is not a plain relative path")
        if self.is_folder and self.checksum:
            found.append(f"folder '{self.name}' cannot have a checksum")
        if self.checksum and not _CHECKSUM.match(self.checksum):
            found.append(f"file '{self.name}' has checksum {self.checksum!r}; use 'md5:<32 hex>' "
                         f"or 'sha256:<64 hex>'")
        if self.url is None and not self.how_to_get:
            found.append(f"file '{self.name}' has neither a url nor a how_to_get line")
        return found

    @property
    def algorithm(self) -> str:
        return self.checksum.partition(":")[0] if self.checksum else "sha256"

    @property
    def is_folder(self) -> bool:
        return self.name.endswith("/")

    @property
    def pinned(self) -> bool:
        return bool(self.checksum)


def files_fingerprint(paths: list[Path]) -> str:
    """Names a decoded cache for a dataset released as a folder of files with no published
    checksums: every file's name, size and modification time, so an edited, added or removed
    file never reads a stale cache (hashing every byte of a 30 GB CT release would cost
    minutes on every run)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.as_posix()}|{stat.st_size}|{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


class FileDataset(DatasetSpec):
    """A dataset decoded from files that the user fetched or put in place.

    Subclasses set ``data_folder`` (the subfolder of a data directory that holds their files,
    e.g. ``"medmnist"``), ``licence`` and ``citation``, and implement ``data_files`` and
    ``decode``. The harness calls ``decode`` only with files whose checksums matched (or,
    with ``--allow-unverified``, that the user chose to trust, and the record says so).
    """

    data_folder: ClassVar[str]
    # False: the files are only where conventional_dirs() says (a lab's registered folder),
    # never in the data folders.
    searches_data_dirs: ClassVar[bool] = True
    split_seed: ClassVar[int | None] = None  # assigns patients to splits, where it does

    @abstractmethod
    def data_files(self) -> tuple[DataFile, ...]:
        """Every file `decode` reads."""

    @abstractmethod
    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        """The train, val and test splits from `files` (``DataFile.name`` -> located path).

        `cache_dir` is keyed by the files' checksums and the preprocessing version, so a
        decoded split cached there (``cached_splits``) is never stale. Raise
        ``DataFileError`` for a file whose content is not what its publisher releases.
        """

    def conventional_dirs(self) -> Sequence[Path]:
        """Folders other tools keep these files in (e.g. ``~/.medmnist``), searched last."""
        return ()

    def mismatch_hint(self) -> str:
        """What to do about a file whose checksum does not match."""
        return f"Fetch it again (`medbench datasets fetch {self.name}`)"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        raise DataFileError(f"Dataset '{self.name}' is decoded from files; the harness "
                            f"locates them and calls decode().")
