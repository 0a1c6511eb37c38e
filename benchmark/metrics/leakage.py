"""Test-leakage audit: are generated images copies of **test** images?

A method never receives the test split, but a plugin is code that runs with the user's
rights: it could read the split from a cache file, or regenerate a phantom, and hand back
test images as its own. Such a run wins every distribution metric, because its images *are*
the reference. This audit catches it the way the memorization audit catches copies of the
training set, with the roles of the real splits exchanged:

- for each generated image, the distance to its nearest **test** image;
- as the yardstick, how close independent real images come to the test set: the
  nearest-test distance of each training image;
- a generated image closer to the test set than all but `quantile` of the training images
  is a near-copy of a test image.

A method that draws new images, or copies its training images (train-copy), flags about
`quantile` of its images by chance; one that returns test images flags nearly all. The run
is **flagged** when its near-copy share exceeds the chance rate by a one-sided exact
binomial test (scipy.stats.binomtest, p < 0.001) and is at least twice that rate; the
leaderboards then mark its row and leave it unranked.

Distances are Euclidean in pixel space at the run's image size (memorization.py explains
why), computed by the same exact nearest-neighbour search.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar

import torch
from scipy.stats import binomtest

from medbench.api import Metric, MetricInputs, Score, SynthesisInputs, hookimpl
from medbench.metrics.memorization import nearest_distances, wilson_interval

FLAG_P_VALUE = 0.001  # one-sided exact binomial test against the chance rate
FLAG_RATIO = 2.0  # and at least this multiple of the chance rate: a practical effect


@dataclass(frozen=True)
class LeakageOptions:
    # Share of training images a generated image must be closer to the test set than, to
    # count as a near-copy of a test image; also the rate expected by chance.
    quantile: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.quantile < 0.5:
            raise ValueError(f"quantile must lie in (0, 0.5), got {self.quantile}")


def leakage_flagged(copies: int, n: int, quantile: float) -> tuple[bool, float]:
    """Whether `copies` near-copies among `n` images exceed the chance rate `quantile`
    (see the module docstring), and the one-sided binomial p-value."""
    p_value = float(binomtest(copies, n, quantile, alternative="greater").pvalue)
    return (p_value < FLAG_P_VALUE and copies / n >= FLAG_RATIO * quantile), p_value


class LeakageMetric(Metric):
    name = "test_copies"
    summary = ("Share of generated images that are near-copies of test images (a method "
               "that read the test split); flagged runs are marked and left unranked")
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "fraction of generated images"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    Options: ClassVar[type] = LeakageOptions
    cost = "cheap"

    @property
    def implementation(self) -> tuple[str, str]:
        return ("medbench nearest-neighbour audit in pixel space; exact binomial test by "
                "scipy.stats.binomtest", version("scipy"))

    def compute(self, inputs: SynthesisInputs, options: LeakageOptions) -> Score:
        test = inputs.real["image"]
        key = f"{inputs.context.split_keys[inputs.train.name]}/nn-to-test-pixels"
        train_nn = inputs.context.features.get_or_compute(
            key, lambda: nearest_distances(inputs.train["image"], test)[:, None],
            rows=len(inputs.train))[:, 0]
        generated_nn = nearest_distances(inputs.generated, test)
        threshold = float(torch.quantile(train_nn, options.quantile))
        copies = int((generated_nn < threshold).sum())
        n = len(generated_nn)
        flagged, p_value = leakage_flagged(copies, n, options.quantile)
        details: dict[str, Any] = {
            "space": "pixels", "distance": "euclidean",
            "quantile": options.quantile, "threshold": round(threshold, 6),
            "expected_by_chance": options.quantile,
            "ci95": wilson_interval(copies, n), "ci95_method": "Wilson score",
            "near_copies": copies, "flagged": flagged,
            "binomial_p_value": p_value, "flag_rule": f"one-sided exact binomial test "
            f"p < {FLAG_P_VALUE} and share >= {FLAG_RATIO:g} x chance",
            "median_nn_generated": round(float(generated_nn.median()), 6),
            "median_nn_train": round(float(train_nn.median()), 6),
            "min_nn_generated": round(float(generated_nn.min()), 6),
        }
        return Score(copies / n, {"generated": n, "train": len(train_nn), "test": len(test)},
                     details)


@hookimpl
def register_metrics(register) -> None:
    register(LeakageMetric())
