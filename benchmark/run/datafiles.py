"""Finding a file-backed dataset's files and checking them against their published checksums.

Search order: ``--data-dir``, ``$MEDBENCH_DATA``, ``~/.cache/medbench/data`` (each with the
dataset's ``data_folder`` below it), then the dataset's conventional folders (e.g.
``~/.medmnist``). A checksum is computed once per file version: the digest is kept in the
cache, keyed by the file's real path, size and modification time, because hashing a 4 GB
MedMNIST+ file on every run would cost a minute.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medbench.api.errors import DataFileError
from medbench.api.sources import DataFile, FileDataset
from medbench.api.storage import atomic_write
from medbench.run.paths import cache_root

DATA_ENV = "MEDBENCH_DATA"
CHUNK_BYTES = 4 * 2**20

# unpinned: present, with no published checksum to verify it against
FileStateName = Literal["ok", "unpinned", "missing", "mismatch"]


def data_dirs(explicit: Path | None = None) -> list[Path]:
    """``--data-dir``, then ``$MEDBENCH_DATA``, then ``~/.cache/medbench/data``; no repeats.

    The default sits in the same cache root as everything else medbench keeps
    (``$MEDBENCH_CACHE`` moves it too).
    """
    found = [explicit] if explicit is not None else []
    if os.environ.get(DATA_ENV):
        found.append(Path(os.environ[DATA_ENV]))
    found.append(cache_root() / "data")
    unique: list[Path] = []
    for folder in found:
        folder = folder.expanduser()
        if folder not in unique:
            unique.append(folder)
    return unique


def candidates(dataset: FileDataset, file: DataFile, dirs: Sequence[Path]) -> list[Path]:
    """Every place `file` may lie, in search order."""
    relative = Path(*file.name.removesuffix("/").split("/"))
    places = [folder / dataset.data_folder / relative for folder in dirs] \
        if dataset.searches_data_dirs else []
    return places + [Path(folder).expanduser() / relative
                     for folder in dataset.conventional_dirs()]


def target(dataset: FileDataset, file: DataFile, dirs: Sequence[Path]) -> Path:
    """Where `medbench datasets fetch` puts `file`, and where the hint tells a user to."""
    return candidates(dataset, file, dirs[:1] if dataset.searches_data_dirs else [])[0]


class ChecksumCache:
    """Digests of files already hashed, keyed by real path, size, mtime and algorithm."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_root() / "file-checksums.json"
        self._entries: dict[str, str] | None = None

    def digest(self, file: Path, algorithm: str) -> str:
        """``"<algorithm>:<hex>"`` of `file`, hashed now or remembered from before."""
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{algorithm}"
        entries = self._load()
        if key not in entries:
            entries[key] = f"{algorithm}:{hash_file(file, algorithm)}"
            self._save(entries)
        return entries[key]

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = {str(k): str(v) for k, v in loaded.items()} \
                    if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._entries = {}  # absent or damaged: hash again, nothing is lost
        return self._entries

    def _save(self, entries: dict[str, str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=0, sort_keys=True)
        except OSError:
            pass  # a read-only cache only costs hashing again next time


def listing_digest(folder: Path) -> str:
    """``"listing:<sha256>"`` over every file's relative path and size below `folder`: the
    same for two copies of one release on any machine, cheap (no byte is read), and changed
    by any added, removed or resized file. Not a checksum of the content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}|{path.stat().st_size};".encode())
    return f"listing:{digest.hexdigest()}"


def hash_file(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileState:
    """One declared file: where it was found and whether its checksum matched."""

    file: DataFile
    path: Path | None  # None: in no searched folder
    actual: str | None  # "<algorithm>:<hex>" of the file found
    state: FileStateName


@dataclass(frozen=True)
class LocatedFiles:
    """A dataset's files as found: what a run decodes and what its record says of them."""

    dataset: str
    states: tuple[FileState, ...]
    searched: tuple[Path, ...]

    @property
    def verified(self) -> bool:
        """No file failed its published checksum (unpinned files have none to fail)."""
        return all(state.state in ("ok", "unpinned") for state in self.states)

    def paths(self) -> dict[str, Path]:
        return {state.file.name: state.path for state in self.states if state.path is not None}

    def key(self) -> str:
        """Names the decoded cache: the files' actual checksums, so edits never hit it."""
        text = json.dumps(sorted((s.file.name, s.actual) for s in self.states))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> dict[str, dict[str, object]]:
        """As the record keeps it: file name -> expected and actual checksum, verified."""
        return {state.file.name: {"expected": state.file.checksum or None,
                                  "actual": state.actual,
                                  "verified": None if state.state == "unpinned"
                                  else state.state == "ok", "url": state.file.url}
                for state in self.states}


def locate(dataset: FileDataset, dirs: Sequence[Path],
           checksums: ChecksumCache | None = None) -> LocatedFiles:
    """Find and check every file of `dataset`; raises nothing, the states say it all.

    The first candidate that exists is the file: a damaged copy in ``--data-dir`` is
    reported as a mismatch, not silently passed over for another copy.
    """
    checksums = checksums or ChecksumCache()
    states = []
    for file in dataset.data_files():
        exists = Path.is_dir if file.is_folder else Path.is_file
        found = next((path for path in candidates(dataset, file, dirs) if exists(path)), None)
        if found is None:
            states.append(FileState(file, None, None, "missing"))
            continue
        actual = listing_digest(found) if file.is_folder else \
            checksums.digest(found, file.algorithm)
        state = "unpinned" if not file.pinned else "ok" if actual == file.checksum \
            else "mismatch"
        states.append(FileState(file, found, actual, state))
    return LocatedFiles(dataset.name, tuple(states), tuple(dirs))


def require(dataset: FileDataset, located: LocatedFiles, allow_unverified: bool) -> None:
    """Raise the one-line DataFileError that says what to put where, or which file to
    fetch again; a checksum mismatch passes only with `allow_unverified`."""
    missing = [state for state in located.states if state.state == "missing"]
    if missing:
        raise DataFileError(missing_hint(dataset, missing[0].file, list(located.searched),
                                         more=len(missing) - 1))
    mismatched = [state for state in located.states if state.state == "mismatch"]
    if mismatched and not allow_unverified:
        state = mismatched[0]
        others = f" ({len(mismatched) - 1} more file(s) differ)" if len(mismatched) > 1 else ""
        raise DataFileError(
            f"{state.path} has {state.actual}, but '{dataset.name}' pins {state.file.checksum}"
            f"{others}: the file changed, is incomplete or is not the official one. "
            f"{dataset.mismatch_hint()}, or pass --allow-unverified to run on it anyway (its "
            f"records then say unverified).")


def missing_hint(dataset: FileDataset, file: DataFile, dirs: list[Path], more: int = 0) -> str:
    """One line: which file, from where, to which path."""
    source = (f"download {file.url}" if file.url
              else f"obtain it ({file.how_to_get.rstrip('.')})")
    others = (f" ({more} more file(s) missing: `medbench datasets status {dataset.name}` "
              f"lists them)" if more else "")
    fetch = f"run `medbench datasets fetch {dataset.name}` or " if file.url else ""
    return (f"Dataset '{dataset.name}' needs {file.name}, which is not in any data folder"
            f"{others}: {fetch}{source} and put it at {target(dataset, file, dirs)}.")
