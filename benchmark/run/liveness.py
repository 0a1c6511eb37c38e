"""Which process owns a running run, and whether it is still alive.

A run's record says `running` from the moment its folder exists. If the process dies
without a word (SIGKILL, a power cut), a later command sees that the owner is gone and
records the run as interrupted instead of leaving it `running` forever, and stores that
record in the results database, where every interrupted run belongs.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from medbench.api.storage import atomic_write
from medbench.record.schema import RECORD_FILENAME, Process
from medbench.store import ResultStore, StoreError

_PROC = Path("/proc")


def _start_ticks(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux), which tells a process apart
    from a later one that got the same pid."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after it are space-separated.
    return stat.rpartition(")")[2].split()[19]


def current_process() -> Process:
    pid = os.getpid()
    return Process(host=socket.gethostname(), pid=pid, start_ticks=_start_ticks(pid))


def is_alive(process: Process) -> bool | None:
    """True or False on this host; None when the process ran on another host."""
    if process.host != socket.gethostname():
        return None
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    if process.start_ticks is not None and _PROC.is_dir():
        return _start_ticks(process.pid) == process.start_ticks
    return True


def process_of(owner: dict[str, Any]) -> Process:
    """The process a record's or a claim's `process` object names; KeyError, TypeError or
    ValueError when it names none."""
    return Process(host=str(owner["host"]), pid=int(owner["pid"]),
                   start_ticks=owner.get("start_ticks"))


def owner_gone(owner: dict[str, Any]) -> bool:
    """Whether a sweep's claim's process has ended (on this host; another host's never
    counts)."""
    try:
        return is_alive(process_of(owner)) is False
    except (KeyError, TypeError, ValueError):
        return True  # not a claim this code wrote


def settle_if_orphaned(folder: Path) -> bool:
    """Mark the record in `folder` interrupted if it says `running` and its process is gone.

    Returns whether it did. Records of other hosts are left alone: we cannot tell.
    """
    path = folder / RECORD_FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        status, owner = data["status"], data.get("process")
        if status.get("state") != "running" or not isinstance(owner, dict):
            return False
        process = process_of(owner)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if is_alive(process) is not False:
        return False
    data["status"] = {"state": "interrupted",
                      "reason": f"its process {process.pid} on {process.host} ended without "
                                f"finishing the run (killed, or the machine stopped)",
                      "step": status.get("step")}
    with atomic_write(path, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    return True


def settle_orphaned_runs(out_dir: Path) -> list[Path]:
    """Every run folder directly under `out_dir` whose owner died while it was running."""
    if not out_dir.is_dir():
        return []
    return [folder for folder in sorted(out_dir.iterdir())
            if folder.is_dir() and settle_if_orphaned(folder)]


def settle_and_store(out_dir: Path, db: Path | None = None) -> tuple[list[Path], list[str]]:
    """`settle_orphaned_runs`, and each settled record into the results database. Returns
    the settled folders and a notice for each record that could not be stored (one
    written before its run had a config, say); the folder keeps it either way."""
    settled = settle_orphaned_runs(out_dir)
    notices = []
    for folder in settled:
        try:
            record = json.loads((folder / RECORD_FILENAME).read_text(encoding="utf-8"))
            with ResultStore(db) as store:
                store.put(record)
        except (OSError, ValueError, KeyError, TypeError, StoreError) as exc:
            notices.append(f"{folder} is settled but not stored ({type(exc).__name__}: "
                           f"{exc}); `medbench results import` adds it once it is readable.")
    return settled, notices
