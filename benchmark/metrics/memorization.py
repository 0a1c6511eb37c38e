"""Memorization audit: are generated images copies of training images?

For each generated image, the distance to its nearest training image is compared with how
close fresh real images come to the training set: the nearest-training distance of each test
image. A generated image closer to the training set than all but `quantile` of the test
images is a near-copy. A generator that draws new images flags about `quantile` of its
samples by chance, as held-out real images do; one that copies its training images flags
nearly all of them.

The distance is Euclidean in pixel space at the run's image size: a copied patient image is
a copy pixel by pixel, with no feature network to forgive or blur it. The summary statistic
is the probability that a generated image lies closer to the training set than a test image
does (the Mann-Whitney AUC, via scikit-learn): 0.5 means "as novel as real data", 1.0
"copied".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from medbench.api import Metric, MetricInputs, Score, SynthesisInputs, hookimpl

ROW_CHUNK = 512
CANDIDATES = 8  # nearest references by the fast formula, whose distances are then exact


@dataclass(frozen=True)
class MemorizationOptions:
    # Share of test images a generated image must be closer to the train set than, to count
    # as a near-copy; also the rate expected of a generator that copies nothing.
    quantile: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 0.5:
            raise ValueError(f"quantile must lie in (0, 0.5), got {self.quantile}")


def nearest_distances(queries: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from each query image to its nearest reference image, exact.

    torch.cdist's fast matrix-product formula puts identical images up to ~1e-6 apart, and
    here an exact copy must be at 0: it only shortlists each query's CANDIDATES nearest
    references, whose distances are then computed term by term. (The true nearest could
    only miss the shortlist if CANDIDATES others were within the formula's ~1e-6 of it.)
    """
    flat_refs = references.flatten(1).double()
    nearest = []
    for start in range(0, len(queries), ROW_CHUNK):
        chunk = queries[start : start + ROW_CHUNK].flatten(1).double()
        k = min(CANDIDATES, len(flat_refs))
        shortlist = torch.cdist(chunk, flat_refs).topk(k, dim=1, largest=False).indices
        exact = (chunk[:, None, :] - flat_refs[shortlist]).pow(2).sum(dim=2).sqrt()
        nearest.append(exact.min(dim=1).values)
    return torch.cat(nearest)


def wilson_interval(hits: int, n: int) -> list[float]:
    """95% Wilson score interval of a proportion (stays inside [0, 1] at 0 and n hits)."""
    z = 1.96
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]


class MemorizationMetric(Metric):
    name = "memorization"
    summary = ("Share of generated images that are near-copies of training images: closer "
               "to the train set than 99% of test images are")
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "fraction of generated images"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    Options: ClassVar[type] = MemorizationOptions
    cost = "cheap"

    @property
    def implementation(self) -> tuple[str, str]:
        return ("medbench nearest-neighbour audit in pixel space; AUC by "
                "sklearn.metrics.roc_auc_score", version("scikit-learn"))

    def compute(self, inputs: SynthesisInputs, options: MemorizationOptions) -> Score:
        train = inputs.train["image"]
        key = f"{inputs.context.split_keys[inputs.real.name]}/nn-to-train-pixels"
        test_nn = inputs.context.features.get_or_compute(
            key, lambda: nearest_distances(inputs.real["image"], train)[:, None],
            rows=len(inputs.real))[:, 0]
        generated_nn = nearest_distances(inputs.generated, train)
        threshold = float(torch.quantile(test_nn, options.quantile))
        copies = int((generated_nn < threshold).sum())
        n = len(generated_nn)
        labels = np.r_[np.ones(n), np.zeros(len(test_nn))]
        # Closer to the train set = more copy-like, so the negated distance is the score.
        auc = roc_auc_score(labels, -np.r_[generated_nn.numpy(), test_nn.numpy()])
        details: dict[str, Any] = {
            "space": "pixels", "distance": "euclidean",
            "quantile": options.quantile, "threshold": round(threshold, 6),
            "expected_by_chance": options.quantile,
            "ci95": wilson_interval(copies, n), "ci95_method": "Wilson score",
            "near_copies": copies,
            "copy_auc": round(float(auc), 6),
            "median_nn_generated": round(float(generated_nn.median()), 6),
            "median_nn_test": round(float(test_nn.median()), 6),
            "min_nn_generated": round(float(generated_nn.min()), 6),
        }
        return Score(copies / n, {"generated": n, "train": len(train), "test": len(test_nn)},
                     details)


@hookimpl
def register_metrics(register) -> None:
    register(MemorizationMetric())
