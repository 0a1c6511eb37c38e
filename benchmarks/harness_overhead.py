"""Harness overhead: `medbench run` against a bare PyTorch loop doing the same work.

    python benchmarks/harness_overhead.py [--repeats 2] [--out DIR]

Both sides train the smoke DCGAN (32 px, width 32, batch 16, 40,000 images) on the
phantom's train split, draw the budget's 1,500 samples and score `fd_randcnn` against the
test split. The bare side is a plain training loop over the same tensors with the same
networks, optimisers and metric code, and nothing else: no plugin discovery, dataset
verification, checkpoints, loss log, record, panels or results database. Each side runs in
its own process (so both pay for importing torch), alternately, `--repeats` times; the
script prints each wall time and the median ratio. Target: at most 5 % overhead.

Build the phantom's cache first (any run on it), so that neither side pays for it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGES = 40_000
BATCH = 16
SAMPLES = 1500


def bare() -> float:
    """Train and score without the harness; returns the FD, so the work cannot be skipped."""
    import torch
    import torch.nn.functional as F

    from medbench.api import SilentProgress
    from medbench.datasets.phantom.dataset import AbdominalPhantom
    from medbench.metrics.features.random_cnn import RandomCNNExtractor
    from medbench.metrics.synthesis import frechet_distance
    from medbench.plugins.dcgan.network import Discriminator, Generator, init_weights
    from medbench.run.data import to_split
    from medbench.run.paths import cache_root

    torch.manual_seed(0)
    dataset = AbdominalPhantom()
    arrays = dataset.build(cache_root() / "datasets" / f"{dataset.name}-{dataset.version}")
    train = to_split("train", arrays["train"], dataset, 32)["image"]
    test = to_split("test", arrays["test"], dataset, 32)["image"]
    generator, discriminator = Generator(100, 1, 32, 32), Discriminator(1, 32, 32)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    seen = 0
    while seen < IMAGES:
        for index in torch.randperm(len(train)).split(BATCH):
            if seen >= IMAGES:
                break
            real = train[index[: IMAGES - seen]] * 2.0 - 1.0
            seen += len(real)
            fake = generator(torch.randn(len(real), 100, 1, 1))
            logits_real, logits_fake = discriminator(real), discriminator(fake.detach())
            loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
                      + F.binary_cross_entropy_with_logits(logits_fake,
                                                           torch.zeros_like(logits_fake)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            logits_gen = discriminator(fake)
            loss_g = F.binary_cross_entropy_with_logits(logits_gen, torch.ones_like(logits_gen))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
    generator.eval()
    with torch.no_grad():
        generated = (generator(torch.randn(SAMPLES, 100, 1, 1)) + 1.0) / 2.0
    extractor = RandomCNNExtractor()
    device = torch.device("cpu")
    with SilentProgress().bar("", None) as bar:
        real_features = extractor.extract(test, device, bar)
        fake_features = extractor.extract(generated, device, bar)
    return frechet_distance(real_features, fake_features)


def timed(command: list[str], env: dict[str, str]) -> float:
    tick = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    return time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="where the runs go")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        print(f"fd_randcnn {bare():.4f}")
        return
    out = args.out or Path(tempfile.mkdtemp())
    harness = [sys.executable, "-m", "medbench", "run", "--method", "dcgan", "--task",
               "synthesis", "--device", "cpu", "--metrics", "fd_randcnn", "--offline",
               "--out", str(out / "runs")]
    plain = [sys.executable, __file__, "--bare"]
    env = {**os.environ, "MEDBENCH_RESULTS_DB": str(out / "results.sqlite")}
    times: dict[str, list[float]] = {"medbench run": [], "bare loop": []}
    for repeat in range(args.repeats):
        for name, command in (("medbench run", harness), ("bare loop", plain)):
            times[name].append(timed(command, env))
            print(f"repeat {repeat + 1}: {name:12s} {times[name][-1]:6.1f} s", flush=True)
    ratio = statistics.median(a / b for a, b in zip(times["medbench run"], times["bare loop"],
                                                       strict=True))
    print(f"median ratio medbench run / bare loop: {ratio:.3f} "
          f"(overhead {100 * (ratio - 1):+.1f} %; target <= +5 %)")


if __name__ == "__main__":
    main()
