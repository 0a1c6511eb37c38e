"""`medbench datasets fetch`: download a dataset's files where a network exists (and the
downloader that pretrained weights use too, `download_url`).

A download goes to ``NAME.part`` beside its target, resumes from there with an HTTP Range
request, is checked against the published checksum, and only then moved into place with
``os.replace``, so a target path never holds half a file or an unverified one. Without a
network (or with ``MEDBENCH_OFFLINE=1``) it says in one line what to put where.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from medbench.api.errors import DataFileError
from medbench.api.progress import Progress
from medbench.api.sources import DataFile, FileDataset
from medbench.run.datafiles import ChecksumCache, data_dirs, hash_file, locate, target

OFFLINE_ENV = "MEDBENCH_OFFLINE"
TIMEOUT_SECONDS = 60
BLOCK_BYTES = 2**20


class Offline(DataFileError):
    """No network reached the file's server; the message says what to put where, `why`
    only why (for a notice beside a hint that says the rest)."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why or message


@dataclass(frozen=True)
class Fetched:
    file: DataFile
    path: Path
    action: str  # "downloaded", "resumed", "already present"


def fetch_dataset(dataset: FileDataset, progress: Progress,
                  data_dir: Path | None = None) -> list[Fetched]:
    """Every file of `dataset` present and verified in the first data folder (or already
    verified elsewhere); raises DataFileError on the first that cannot be had."""
    dirs = data_dirs(data_dir)
    located = locate(dataset, dirs, ChecksumCache())
    done = []
    for state in located.states:
        if state.state in ("ok", "unpinned") and state.path is not None:
            done.append(Fetched(state.file, state.path, "already present"))
            continue
        destination = target(dataset, state.file, dirs)
        if state.state == "mismatch" and state.path == destination:
            raise DataFileError(
                f"{destination} exists but has {state.actual}, not the official "
                f"{state.file.checksum}. Delete it and fetch again.")
        done.append(download(state.file, destination, progress))
    return done


def download(file: DataFile, destination: Path, progress: Progress) -> Fetched:
    if file.url is None:
        raise DataFileError(f"{file.name} cannot be downloaded by medbench: "
                            f"{file.how_to_get.rstrip('.')}; put it at {destination}.")

    def problem(partial: Path) -> str | None:
        actual = f"{file.algorithm}:{hash_file(partial, file.algorithm)}"
        if file.pinned and actual != file.checksum:
            return (f"The download of {file.name} has {actual}, not the published "
                    f"{file.checksum}; it was deleted. Fetch again; if it persists, the "
                    f"publisher changed the file: report it.")
        return None

    action = download_url(file.url, destination, progress, f"fetch {file.name}",
                          file.size_bytes, problem)
    return Fetched(file, destination, action)


def offline_requested() -> bool:
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def download_url(url: str, destination: Path, progress: Progress, label: str,
                 size_bytes: int | None, problem: Callable[[Path], str | None],
                 timeout: float = TIMEOUT_SECONDS, offline: bool = False) -> str:
    """`url` into `destination` through ``NAME.part``; `problem(partial)` says why the
    finished file must not be used (it is then deleted), or None. Returns "downloaded" or
    "resumed"; raises Offline without a network (or when `offline` or MEDBENCH_OFFLINE)."""
    if offline or offline_requested():
        raise Offline(f"Offline ({OFFLINE_ENV} or --offline is set): download {url} and put it "
                      f"at {destination}.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    start = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "medbench"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # nothing left to send: the partial file is whole
            return _finish(partial, destination, problem, "resumed")
        raise DataFileError(f"{url} answered HTTP {exc.code} ({exc.reason}); try again "
                            f"later, or download it yourself and put it at "
                            f"{destination}.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Offline(f"No network ({reason}): download {url} and put it at "
                      f"{destination}.", why=f"no network ({reason})") from None
    with response:
        resumed = bool(start) and response.status == 206
        if not resumed:
            start = 0  # the server ignored the Range request: start over
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else size_bytes
        with progress.bar(label, total=total) as bar, \
                open(partial, "ab" if resumed else "wb") as out:
            bar.advance(start)
            while block := response.read(BLOCK_BYTES):
                out.write(block)
                bar.advance(len(block))
    return _finish(partial, destination, problem, "resumed" if resumed else "downloaded")


def _finish(partial: Path, destination: Path, problem: Callable[[Path], str | None],
            action: str) -> str:
    found = problem(partial)
    if found:
        partial.unlink(missing_ok=True)
        raise DataFileError(found)
    os.replace(partial, destination)
    return action
