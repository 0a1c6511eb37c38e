"""Peak memory of a run's training, for the record and the performance benchmarks.

On CUDA it is torch's own count: the most memory its allocator handed out on the device
(`torch.cuda.max_memory_allocated`), reset when training starts. On a CPU it is the
process's peak resident set size (Linux's VmHWM), reset when training starts where the
kernel allows it (writing 5 to /proc/self/clear_refs); where it does not, it is the
process's peak since it started, and the record says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class PeakMemory:
    bytes: int | None = None  # None: this platform cannot say
    kind: str = ""  # what was measured, in words


def _resident_high_water_mark() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_resident_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def peak_memory(device: torch.device) -> Iterator[PeakMemory]:
    """Measures the peak over the `with` block; the result is filled in on exit."""
    result = PeakMemory()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        try:
            yield result
        finally:
            result.bytes = int(torch.cuda.max_memory_allocated(device))
            result.kind = "CUDA memory allocated by torch, peak during training"
        return
    since_reset = _reset_resident_peak()
    try:
        yield result
    finally:
        result.bytes = _resident_high_water_mark()
        result.kind = ("resident memory of the process, peak during training" if since_reset
                       else "resident memory of the process, peak since it started")
