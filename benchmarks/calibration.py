"""Calibration of the synthesis metrics on the phantom at a budget (default: smoke).

Runs every registered synthesis method through the harness, plus DCGAN with its training
budget set to zero (an untrained generator of the same architecture), and checks the order
that a sound metric must give:

    holdout  <  dcgan  <  gaussian,   and   dcgan  <=  untrained / 2

for the offline metrics. Prints a pandas table and exits non-zero if any check fails.

    python benchmarks/calibration.py [--budget smoke] [--seed 0] [--out runs/calibration]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from medbench.api import Progress
from medbench.cli.progress import RichProgress
from medbench.host.manager import Registries, load_host
from medbench.record.spec import RunSpec
from medbench.run.runner import execute, plan_run

OFFLINE_METRICS = ("fd_randcnn", "kid_randcnn")


def calibrate(budget: str, seed: int, out: Path, registries: Registries,
              progress: Progress | None = None,
              overrides: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """One row per method: the offline metrics and the training it got. `overrides` are a
    method's `--set` values (method name -> key -> value)."""
    rows = []
    for method, untrained in (("holdout", False), ("gaussian", False), ("dcgan", True),
                              ("dcgan", False)):
        # Only the offline distances: no metric that needs labels, so every method is
        # trained whole (never through the per-class protocol).
        plan = plan_run(RunSpec(method=method, task="synthesis", budget=budget, seed=seed,
                                metrics=list(OFFLINE_METRICS),
                                overrides=(overrides or {}).get(method, {})), registries, out)
        label = method
        if untrained:
            plan.budget = dataclasses.replace(plan.budget, name=f"{plan.budget.name}-untrained",
                                              train_images=0)
            label = "dcgan (untrained)"
        record = execute(plan, progress).record
        if record.status.state != "ok":
            raise RuntimeError(f"{label}: {record.status.state}: {record.status.reason}")
        rows.append({"method": label,
                     **{name: record.metrics[name].value for name in OFFLINE_METRICS},
                     "images_seen": record.training.images_seen if record.training else 0,
                     "train_s": record.timings.train_seconds})
    return pd.DataFrame(rows).set_index("method")


def calibration_failures(table: pd.DataFrame) -> list[str]:
    failures = []
    for metric in OFFLINE_METRICS:
        column = table[metric]
        if not column["holdout"] < column["dcgan"] < column["gaussian"]:
            failures.append(f"{metric}: expected holdout < dcgan < gaussian")
        if not column["dcgan"] <= column["dcgan (untrained)"] / 2:
            failures.append(f"{metric}: dcgan is not at most half the untrained generator")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/calibration"))
    args = parser.parse_args()

    registries = load_host().registries
    table = calibrate(args.budget, args.seed, args.out, registries,
                      RichProgress(Console(stderr=True)))
    print(table.to_string(float_format=lambda value: f"{value:.4g}"))
    failures = calibration_failures(table)
    for failure in failures:
        print(f"CALIBRATION FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("calibration holds: holdout < dcgan < gaussian, dcgan <= untrained / 2")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
