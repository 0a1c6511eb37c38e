"""What crash-safe resume costs: training time with checkpoints at the default interval (a
fifth of the budget) against none, run side by side, and the time spent writing them.

Runs a synthesis method on the phantom at the smoke budget, trained whole (DCGAN at batch
64, any other at its own smoke setting), alternating the two settings so that drift of the
machine hits both alike. Prints each run's training
seconds, the seconds its checkpoint writes took (timed around each write, so the share is
exact where the wall-time ratio of two runs is noisy), and one checkpoint's size.

    python benchmarks/resume_overhead.py [--method dcgan] [--repeats 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from medbench.host.manager import load_host
from medbench.record.spec import RunSpec
from medbench.run import resume
from medbench.run.runner import execute, plan_run

SETTINGS = {"none": 0, "default": None}  # --checkpoint-every: 0, or a fifth of the budget


def measure(method: str, repeats: int,
            out: Path) -> dict[str, list[tuple[float, float, int]]]:
    """Per setting, per repeat: (training seconds, seconds writing checkpoints, bytes of
    the last checkpoint)."""
    registries = load_host().registries
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in SETTINGS}
    writes: list[tuple[float, int]] = []
    original = resume.TrainingCheckpoints.save

    def timed(self: resume.TrainingCheckpoints, state: dict[str, Any], seconds: float) -> None:
        tick = time.perf_counter()
        original(self, state, seconds)
        writes.append((time.perf_counter() - tick, self.paths()[0].stat().st_size))

    resume.TrainingCheckpoints.save = timed  # type: ignore[method-assign]
    try:
        for repeat in range(repeats):
            for name, every in SETTINGS.items():
                writes.clear()
                spec = RunSpec(method, "synthesis", budget="smoke", seed=repeat,
                               device="cpu",
                               overrides={"batch_size": "64"} if method == "dcgan" else {},
                               metrics=["fd_randcnn"], checkpoint_every=every)
                record = execute(plan_run(spec, registries, out / name)).record
                spent = sum(seconds for seconds, _ in writes)
                size = writes[-1][1] if writes else 0
                results[name].append((record.timings.train_seconds, spent, size))
                print(f"repeat {repeat} {name:8} train {record.timings.train_seconds:6.1f} s, "
                      f"{len(writes)} checkpoints written in {spent:.3f} s", flush=True)
    finally:
        resume.TrainingCheckpoints.save = original  # type: ignore[method-assign]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="dcgan", help="a resumable synthesis method")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/resume-overhead"))
    args = parser.parse_args()
    results = measure(args.method, args.repeats, args.out / args.method)
    base = statistics.median(train for train, _, _ in results["none"])
    train = statistics.median(train for train, _, _ in results["default"])
    spent = statistics.median(spent for _, spent, _ in results["default"])
    size = results["default"][-1][2]
    print(f"training with checkpoints / without: {train:.1f} s / {base:.1f} s = "
          f"{train / base:.3f}")
    print(f"checkpoint writes: {spent:.3f} s, {100 * spent / train:.2f} % of training; "
          f"one checkpoint {size / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
