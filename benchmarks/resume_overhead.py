"""What crash-safe resume costs: training time with checkpoints at the default interval (a
fifth of the budget), and at a tenth of it, against none, measured side by side.

Runs DCGAN on the phantom at the smoke budget (trained whole, at batch 64 so that a run
takes about a minute on a 2-core CPU), alternating the settings so that drift of the
machine hits them alike, and prints each setting's median training seconds, its ratio to
no checkpoints, and the size of one checkpoint.

    python benchmarks/resume_overhead.py [--repeats 2] [--out runs/resume-overhead]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from pathlib import Path

from medbench.host.manager import load_host
from medbench.record.spec import RunSpec
from medbench.run import resume
from medbench.run.budgets import BUDGETS
from medbench.run.runner import execute, plan_run

SETTINGS = {"none": 0, "default (budget / 5)": None,
            "budget / 10": BUDGETS["smoke"].train_images // 10}


def measure(repeats: int, out: Path) -> dict[str, list[float]]:
    registries = load_host().registries
    seconds: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for repeat in range(repeats):
        for name, every in SETTINGS.items():
            spec = RunSpec("dcgan", "synthesis", budget="smoke", seed=repeat, device="cpu",
                           overrides={"batch_size": "64"}, metrics=["fd_randcnn"],
                           checkpoint_every=every)
            record = execute(plan_run(spec, registries, out / name.split()[0])).record
            seconds[name].append(record.timings.train_seconds)
            print(f"repeat {repeat} {name:22} train {record.timings.train_seconds:6.1f} s, "
                  f"{record.training.checkpoints_written} checkpoints", flush=True)
    return seconds


def checkpoint_bytes() -> int:
    """One DCGAN smoke checkpoint's size on disk (networks, Adam states, RNG, loss log)."""
    registries = load_host().registries
    spec = RunSpec("dcgan", "synthesis", budget="smoke", device="cpu",
                   overrides={"batch_size": "64"}, metrics=["fd_randcnn"])
    plan = plan_run(spec, registries, Path(tempfile.mkdtemp()))
    plan.budget = dataclasses.replace(plan.budget, train_images=640)
    sizes: list[int] = []
    original = resume.TrainingCheckpoints.save

    def save(self: resume.TrainingCheckpoints, state: dict, train_seconds: float) -> None:
        original(self, state, train_seconds)
        sizes.append(self.paths()[0].stat().st_size)

    resume.TrainingCheckpoints.save = save  # type: ignore[method-assign]
    try:
        execute(plan)
    finally:
        resume.TrainingCheckpoints.save = original  # type: ignore[method-assign]
    return sizes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/resume-overhead"))
    args = parser.parse_args()
    seconds = measure(args.repeats, args.out)
    base = statistics.median(seconds["none"])
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"{name:22} median train {median:6.1f} s  ratio to none {median / base:.3f}")
    print(f"one checkpoint: {checkpoint_bytes() / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()
