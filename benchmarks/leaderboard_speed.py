"""How long leaderboards take to build and render as the records grow.

Synthetic records (the parts that leaderboards read): T tasks x M methods x S seeds, each
with K metrics. Prints the seconds to aggregate (bootstrap included) and to render every
built-in format.

    python benchmarks/leaderboard_speed.py [--tasks 8] [--methods 20] [--seeds 10] [--metrics 12]
"""

from __future__ import annotations

import argparse
import random
import time

from medbench.host.manager import load_host
from medbench.report.leaderboards import build_leaderboards


def synthetic_records(tasks: int, methods: int, seeds: int, metrics: int) -> list[dict]:
    rng = random.Random(0)
    records = []
    for t in range(tasks):
        for m in range(methods):
            for seed in range(seeds):
                records.append({
                    "run_id": f"t{t}-m{m}-s{seed}", "created_at": f"2026-01-01T{t:02d}:{m:02d}",
                    "status": {"state": "ok"}, "task": {"name": f"task{t}", "version": "1"},
                    "dataset": {"name": "data", "version": "1"},
                    "config": {"budget": "smoke", "seed": seed, "overrides": {},
                               "train_fraction": 1.0},
                    "method": {"name": f"method{m}", "reference": m == 0,
                               "distribution": "bench", "version": "1"},
                    "metrics": {f"metric{k}": {"value": rng.random() + m * 0.01,
                                               "higher_is_better": k % 2 == 0, "status": "ok"}
                                for k in range(metrics)},
                    "timings": {"train_seconds": 60.0, "total_seconds": 70.0},
                    "environment": {"device": "cpu", "cpu_model": "bench",
                                    "torch_version": "2"}})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in (("tasks", 8), ("methods", 20), ("seeds", 10), ("metrics", 12)):
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    records = synthetic_records(args.tasks, args.methods, args.seeds, args.metrics)
    primary = {f"task{t}": "metric0" for t in range(args.tasks)}
    start = time.perf_counter()
    boards = build_leaderboards(records, primary)
    built = time.perf_counter() - start
    print(f"{len(records)} records -> {len(boards)} tables in {built:.2f} s "
          f"({args.methods} methods x {args.metrics} metrics x {args.seeds} seeds each)")
    for reporter in load_host().registries.reporters:
        start = time.perf_counter()
        size = len(reporter.render(boards))
        print(f"  {reporter.name:9s} {time.perf_counter() - start:6.3f} s, {size:,} characters")


if __name__ == "__main__":
    main()
