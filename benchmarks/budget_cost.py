"""What a budget costs on a GPU: training FLOPs per image, counted, for every built-in
method on every task of the reference sweep, and the GPU-hours of that sweep (3 seeds) at
an assumed sustained throughput.

    python benchmarks/budget_cost.py [--budget standard] [--probe 512] [--seeds 3]
        [--tflops 10,50] [--pairs pggan:synthesis,...]

Why count instead of time: this machine has no GPU. The FLOPs are those of the real
training code, run for `--probe` images (at least 32 steps, at batches of at most 4: FLOPs
per image do not depend on the batch size) at the budget's image size under
torch's own FLOP formulas (`torch.utils.flop_counter`: convolutions and matrix products,
forward and backward, the gradient penalties' double backward included; elementwise work is
not counted), then scaled to the budget's images. The GPU
rate is an assumption, not a measurement: small convolutional networks at 32-256 px keep
a modern GPU far below its peak, so two rates are shown; the H200 of the device lender
peaks near 990 dense bf16 TFLOP/s and 67 fp32 TFLOP/s. Where `benchmarks/gpu_check.sh` has
measured a method's images per second on a GPU, prefer that. Evaluation (sampling and
metrics) is not included: at 1,500 samples it is minutes, not hours.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import tomllib
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from medbench.api import SilentProgress, TrainContext
from medbench.api.errors import MedbenchError
from medbench.api.seeding import derived_generator, seed_everything
from medbench.host.manager import load_host
from medbench.record.spec import RunSpec
from medbench.run.data import load_dataset, to_split
from medbench.run.runner import plan_run, supported_tasks

REFERENCE = Path(__file__).resolve().parent.parent / "leaderboards" / "reference.toml"
NOT_TRAINED = {"gaussian", "holdout", "train-copy", "identity"}


class CountFlops(TorchDispatchMode):
    """Every aten op that torch.utils.flop_counter has a formula for, summed. Hand-written
    because FlopCounterMode's per-module tracking breaks `torch.autograd.grad` on a leaf
    tensor, which every gradient penalty (WGAN-GP, PGGAN) calls."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def reference_pairs(registries) -> list[tuple[str, str]]:
    sweep = tomllib.loads(REFERENCE.read_text())
    tasks = list(registries.tasks)
    return [(method, task) for method in sweep["methods"] if method not in NOT_TRAINED
            for task in sweep["tasks"]
            if task in supported_tasks(registries.methods.get(method), tasks)]


def flops_per_image(registries, method: str, task: str, budget: str,
                    probe: int) -> tuple[float, int, int]:
    """(training FLOPs per image, the budget's training images, its image size)."""
    plan = plan_run(RunSpec(method=method, task=task, budget=budget, device="cpu",
                            metrics=None), registries, offline=True)
    arrays, _ = load_dataset(plan.dataset, plan.cache_dir / "datasets", [], plan.files)
    size = plan.budget.image_size
    splits = {name: to_split(name, part, plan.dataset, size) for name, part in arrays.items()}
    seed_everything(0)
    train, val = plan.task.fit_data(splits["train"], splits["val"],
                                    derived_generator(0, "fit-data"), plan.method_cls)
    # FLOPs per image do not depend on the batch size, so count at batches of at most 4
    # (seconds, not minutes, at 256 px on a CPU), and over at least 32 steps, so that a
    # schedule fitted to the probe (PGGAN's growth) is sampled in the budget's proportions.
    config = plan.config
    if getattr(config, "batch_size", 0) > 4:
        config = dataclasses.replace(config, batch_size=4)
    probe = max(probe, 32 * int(getattr(config, "batch_size", 1)))
    model = plan.task.prepare_method(plan.method_cls, config, train.info, plan.device,
                                     frozenset())
    with SilentProgress().bar("", None) as bar:
        context = TrainContext(probe, plan.device, derived_generator(0, "batches"), bar)
        with CountFlops() as counter:
            model.fit(train, val, context)
    return counter.total / context.images_seen, plan.budget.train_images, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="standard")
    parser.add_argument("--probe", type=int, default=512,
                        help="images trained per pair (at least 32 batches)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tflops", default="10,50",
                        help="assumed sustained GPU rates, TFLOP/s, comma-separated")
    parser.add_argument("--pairs", default="", help="method:task,... (default: the reference "
                                                    "sweep's trained pairs)")
    args = parser.parse_args()
    registries = load_host().registries
    pairs = ([tuple(pair.split(":")) for pair in args.pairs.split(",")] if args.pairs
             else reference_pairs(registries))
    rates = [float(rate) * 1e12 for rate in args.tflops.split(",")]
    header = "".join(f"  h @ {rate / 1e12:g} TF/s" for rate in rates)
    print(f"budget {args.budget}: training FLOPs counted over at least {args.probe} images "
          f"(32 steps) per pair; GPU-hours for {args.seeds} seed(s) at an assumed sustained "
          f"rate")
    print(f"{'method':17s}{'task':21s}{'px':>4s}{'images':>11s}{'GFLOP/img':>10s}{header}")
    total = 0.0
    for method, task in pairs:
        try:
            per_image, images, size = flops_per_image(registries, method, task, args.budget,
                                                      args.probe)
        except MedbenchError as exc:
            print(f"{method:17s}{task:21s} skipped: {exc}", file=sys.stderr)
            continue
        work = per_image * images * args.seeds
        total += work
        hours = "".join(f"{work / rate / 3600:14.2f}" for rate in rates)
        print(f"{method:17s}{task:21s}{size:4d}{images:11,d}{per_image / 1e9:10.2f}{hours}",
              flush=True)
    hours = "".join(f"{total / rate / 3600:14.2f}" for rate in rates)
    print(f"{'total':17s}{'':21s}{'':4s}{'':11s}{total / 1e15:8.1f} PF{hours}")


if __name__ == "__main__":
    main()
