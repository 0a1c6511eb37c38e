"""Peak memory of training, per task, at a budget's image size and batch sizes.

    python benchmarks/peak_memory.py [--budget smoke] [--images N] [--device cpu]
        [--pairs pggan:synthesis,...] [--set KEY=VALUE ...]

Each pair runs `medbench run` in its own process, scoring only the task's primary metric,
and the script prints the record's `training.peak_memory_bytes`: on a CPU the process's
peak resident memory while training (torch and the dataset's tensors included), on CUDA
the most the allocator handed out. `--images N` trains the first N images of the budget
only (its image size and batch sizes unchanged; PGGAN's growth schedule fits itself into
N, so it still reaches the final resolution): memory does not grow with images seen, so a
short run measures the same peak much sooner. A task that sizes the budget itself (the
image-to-image and segmentation tasks at `smoke`) keeps its own length. The default pairs are the
heaviest trained method of every task of the reference sweep, PGGAN included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PAIRS = ("pggan:synthesis", "wgan-gp:synthesis", "pix2pix:conditional",
         "pix2pix:reconstruction", "pix2pix:translation", "cyclegan:translation-unpaired",
         "adversarial-unet:segmentation", "adversarial-unet:vessel-segmentation",
         "ganomaly:anomaly")

# Runs medbench's CLI with the budget cut to its first N training images.
SHORTENED = """
import dataclasses, sys
from medbench.run import budgets
name, images = sys.argv[1], int(sys.argv[2])
if images:
    budgets.BUDGETS[name] = dataclasses.replace(budgets.BUDGETS[name], train_images=images)
from medbench.cli import app
app(sys.argv[3:], prog_name="medbench")
"""


def measure(method: str, task: str, primary: str, args: argparse.Namespace,
            out: Path) -> str:
    folder = out / f"{method}-{task}"
    command = [sys.executable, "-c", SHORTENED, args.budget, str(args.images), "run",
               "--method", method, "--task", task, "--budget", args.budget, "--device",
               args.device, "--metrics", primary, "--offline", "--out", str(folder),
               *[part for setting in args.set for part in ("--set", setting)]]
    env = {**os.environ, "MEDBENCH_RESULTS_DB": str(out / "results.sqlite")}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    records = list(folder.glob("*/record.json"))
    if done.returncode != 0 or not records:
        last = (done.stderr or done.stdout).strip().splitlines()
        return f"failed: {last[-1] if last else done.returncode}"
    record = json.loads(records[0].read_text())
    training = record["training"]
    peak = training.get("peak_memory_bytes")
    if peak is None:
        return "not measurable on this platform"
    images = record["budget"]["train_images"]
    return (f"{peak / 2**20:8.0f} MiB  ({training['peak_memory_kind']}; "
            f"{record['budget']['image_size']} px, {images:,} images)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="smoke")
    parser.add_argument("--images", type=int, default=0,
                        help="train only the budget's first N images (0: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--pairs", default=",".join(PAIRS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a method setting for every pair, e.g. batch_size=8 to fit "
                             "memory per image where the budget's batch does not fit")
    args = parser.parse_args()
    from medbench.host.manager import load_host

    tasks = load_host().registries.tasks
    out = Path(tempfile.mkdtemp())
    print(f"peak training memory, budget {args.budget}, device {args.device}")
    for pair in args.pairs.split(","):
        method, task = pair.split(":")
        primary = tasks.get(task).primary_metric
        print(f"{method:17s}{task:21s}{measure(method, task, primary, args, out)}", flush=True)
    print(f"runs in {out}")


if __name__ == "__main__":
    main()
