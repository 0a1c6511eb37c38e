"""Crash-safe resume: training checkpoints in the run folder, and the run to resume.

While a resumable method trains, the harness writes its training state (everything it
tracks, the batch order, the random streams, images seen, the loss log) to
`train-state/images-N.pt` every `checkpoint_every` images, atomically, keeping the last
two. A run of the same experiment (run key) into the same `--out` finds the newest folder
of that experiment; if that run was killed or interrupted, it carries on in that folder
from the last checkpoint that loads, falling back to the one before a damaged one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from medbench.api.storage import atomic_write
from medbench.record.schema import RECORD_FILENAME, ResultRecord
from medbench.run.liveness import is_alive, process_of, settle_if_orphaned

TRAIN_STATE = "train-state"
KEEP = 2  # checkpoints kept: the newest and the one to fall back to
FORMAT = 1
CHECKPOINTS_PER_RUN = 5  # the default interval: a fifth of the training budget


def default_interval(train_images: int) -> int:
    """Images between checkpoints when the run does not say: several per run."""
    return max(1, train_images // CHECKPOINTS_PER_RUN)


@dataclass
class Resumable:
    """An earlier run of the same experiment that stopped before it finished."""

    folder: Path
    record: ResultRecord


class TrainingCheckpoints:
    """The run folder's training checkpoints: written atomically, read back safely."""

    def __init__(self, folder: Path, run_key: str) -> None:
        self.folder = folder / TRAIN_STATE
        self.run_key = run_key
        self.written = 0

    def paths(self) -> list[Path]:
        """Newest first."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("images-*.pt"), reverse=True)

    def save(self, state: dict[str, Any], train_seconds: float) -> None:
        self.folder.mkdir(exist_ok=True)
        path = self.folder / f"images-{state['images_seen']:012d}.pt"
        with atomic_write(path) as out:
            torch.save({"format": FORMAT, "run_key": self.run_key,
                        "train_seconds": train_seconds, "state": state}, out)
            out.flush()
            os.fsync(out.fileno())  # on disk before it replaces anything: a power cut too
        self.written += 1
        for old in self.paths()[KEEP:]:
            old.unlink(missing_ok=True)

    def latest(self, notices: list[str]) -> dict[str, Any] | None:
        """The newest checkpoint that loads and belongs to this experiment, else None; a
        notice for each one passed over."""
        for path in self.paths():
            try:
                checkpoint = torch.load(path, map_location="cpu", weights_only=True)
                if checkpoint.get("format") != FORMAT or checkpoint.get("run_key") != \
                        self.run_key or not isinstance(checkpoint.get("state"), dict):
                    raise ValueError("it belongs to another experiment or format")
            except Exception as exc:  # a damaged file is skipped, whatever is wrong with it
                notices.append(f"Training checkpoint {path.name} does not load "
                               f"({type(exc).__name__}: {str(exc)[:80]}); trying an earlier "
                               f"one.")
                continue
            return checkpoint
        return None

    def clear(self) -> None:
        for path in self.paths():
            path.unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()


def find_resumable(out_dir: Path, run_key: str, folders: str = "*") -> Resumable | None:
    """The newest run of experiment `run_key` in `out_dir`, if it stopped unfinished:
    interrupted, or `running` with its process gone (settled as interrupted here).
    `folders` is a glob of the folder names worth reading (a sweep's --out may hold
    thousands of runs)."""
    newest: tuple[str, str, Path, ResultRecord] | None = None
    if not out_dir.is_dir():
        return None
    for path in out_dir.glob(f"{folders}/{RECORD_FILENAME}"):
        try:
            record = ResultRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):  # unreadable, or not a record
            continue
        if record.config.run_key != run_key:
            continue
        started = str(record.created_at)
        if newest is None or (started, path.parent.name) > newest[:2]:
            newest = (started, path.parent.name, path.parent, record)
    if newest is None:
        return None
    *_, folder, record = newest
    state = record.status.state
    if state == "running":
        try:
            alive = is_alive(process_of(asdict(record.process))) if record.process else None
        except (KeyError, TypeError, ValueError):
            return None
        if alive is not False or not settle_if_orphaned(folder):
            return None  # still running, or on another machine: not ours to take over
        record = ResultRecord.from_dict(
            json.loads((folder / RECORD_FILENAME).read_text(encoding="utf-8")))
    elif state != "interrupted":
        return None
    return Resumable(folder, record)
