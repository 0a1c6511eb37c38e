"""Feature extraction throughput of every registered feature space, side by side.

    python benchmarks/feature_spaces.py [--images 96] [--size 32] [--device cpu]

Each space embeds the same `--images` random images of `--size` px (preprocessing
included, as a metric runs it), after one warm-up batch; weights are random, in the
official layouts (tests/weights_layouts.py), so nothing is downloaded. Prints images per
second and each space's time relative to pytorch-fid's Inception, the space every paper
reports: what asking for SwAV, DINOv2 or FRD besides FID costs. The radiomics space is
timed where PyRadiomics is installed (see docs/feature-spaces.md); it runs on one core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from medbench.api import MetricUnavailable, SilentProgress
    from medbench.metrics.features.inception import InceptionExtractor
    from medbench.metrics.features.random_cnn import RandomCNNExtractor
    from medbench.plugins.feature_spaces.dinov2 import DINOv2Extractor
    from medbench.plugins.feature_spaces.radimagenet import RadImageNetExtractor
    from medbench.plugins.feature_spaces.radiomics import RadiomicsExtractor, installed_versions
    from medbench.plugins.feature_spaces.swav import SwAVExtractor

    from support import random_fid_inception_weights
    from weights_layouts import dinov2_release, radimagenet_conversion, swav_release

    device = torch.device(args.device)
    images = torch.rand(args.images, 1, args.size, args.size,
                        generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        inception = root / "inception.pth"
        random_fid_inception_weights(inception)
        extractors = {
            "randcnn": RandomCNNExtractor(),
            "inception": InceptionExtractor(inception),
            "swav": SwAVExtractor(swav_release(root / "swav.pth")),
            "dinov2": DINOv2Extractor(dinov2_release(root / "dinov2.pth")),
            "radimagenet": RadImageNetExtractor(radimagenet_conversion(root / "rad.pth")),
        }
        try:
            installed_versions()
            extractors["radiomics"] = RadiomicsExtractor()
        except MetricUnavailable as missing:
            print(f"radiomics not timed: {missing}")
        seconds = {}
        for name, extractor in extractors.items():
            with SilentProgress().bar(name, len(images)) as bar:
                extractor.extract(images[: extractor.batch_size], device, bar)  # warm-up
                start = time.perf_counter()
                extractor.extract(images, device, bar)
                seconds[name] = time.perf_counter() - start
    print(f"{args.images} images of {args.size} px on {device}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'space':<12} {'img/s':>8} {'time vs inception':>18}")
    for name, spent in seconds.items():
        print(f"{name:<12} {args.images / spent:>8.1f} {spent / seconds['inception']:>17.2f}x")


if __name__ == "__main__":
    main()
