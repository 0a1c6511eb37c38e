"""Speed of the pieces a run spends its time in, on this machine.

    python benchmarks/throughput.py [--device cpu] [--steps 30] [--compile]

Reports: phantom build time, DCGAN training throughput (images/s) at the smoke and
standard settings (with `--compile` also torch.compile'd, side by side, after a warm-up that
pays for compiling), and feature-extraction throughput of the random CNN. Timings only: the
test suite checks behaviour, this script measures speed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from medbench.api import SilentProgress, Split, TrainContext
from medbench.datasets.phantom.dataset import AbdominalPhantom
from medbench.metrics.features.random_cnn import RandomCNNExtractor
from medbench.plugins.dcgan.method import DCGAN, DCGANConfig
from medbench.run.device import resolve_device


def dcgan_images_per_second(size: int, width: int, steps: int, device: torch.device,
                            compile: bool = False) -> float:
    config = DCGANConfig(width=width)
    info = AbdominalPhantom().info(size).select(["image"])
    method = DCGAN(config, info, device)
    images = torch.rand(config.batch_size * 4, 1, size, size)
    split = Split("train", {"image": images}, info)
    warmup = 3 * config.batch_size
    with SilentProgress().bar("", None) as bar:
        # The warm-up pays for compiling (with --compile) as well as for the first steps.
        method.fit(split, split, TrainContext(warmup, device, torch.Generator(), bar,
                                              compile=compile))
        if device.type == "cuda":
            torch.cuda.synchronize()
        tick = time.perf_counter()
        method.fit(split, split, TrainContext(steps * config.batch_size, device,
                                              torch.Generator(), bar, compile=compile))
        if device.type == "cuda":
            torch.cuda.synchronize()
    return steps * config.batch_size / (time.perf_counter() - tick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--compile", action="store_true",
                        help="also time each DCGAN setting torch.compile'd")
    args = parser.parse_args()
    device = resolve_device(args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    with tempfile.TemporaryDirectory() as cache:
        tick = time.perf_counter()
        splits = AbdominalPhantom().build(Path(cache))
        total = sum(len(split) for split in splits.values())
        print(f"phantom build (uncached): {total} images in {time.perf_counter() - tick:.1f} s")

    for label, size, width in (("smoke default", 32, 32), ("32 px, width 64", 32, 64),
                               ("standard default", 64, 32), ("64 px, width 64", 64, 64)):
        rate = dcgan_images_per_second(size, width, args.steps, device)
        line = f"dcgan train, {label:17s} ({size} px, width {width}): {rate:7.0f} img/s"
        if args.compile:
            compiled = dcgan_images_per_second(size, width, args.steps, device, compile=True)
            line += f", compiled {compiled:7.0f} img/s ({compiled / rate:.2f}x)"
        print(line, flush=True)

    extractor = RandomCNNExtractor()
    images = torch.rand(1500, 1, 32, 32)
    with SilentProgress().bar("", None) as bar:
        extractor.extract(images[:100], device, bar)
        tick = time.perf_counter()
        extractor.extract(images, device, bar)
    print(f"random-CNN features (32 px): {1500 / (time.perf_counter() - tick):7.0f} img/s")


if __name__ == "__main__":
    main()
