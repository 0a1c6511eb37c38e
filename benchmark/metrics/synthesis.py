"""Distribution distances between generated and real test images, in a feature space.

They score every task whose method produces images: synthesis, and the image-to-image tasks
(where "real" is the test split's target images).

The distances themselves come from torchmetrics (FrechetInceptionDistance and
KernelInceptionDistance accept any feature network); medbench feeds them features it
extracted once per image set, so FD and KID share one pass of the extractor and the real
test features come from the reference cache.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from importlib.metadata import version
from typing import Any, ClassVar

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from medbench.api import (
    FeatureSpace,
    GeneratedImages,
    InFeatureSpace,
    Metric,
    MetricInputs,
    Score,
    hookimpl,
)
from medbench.metrics.spaces import unofficial_caveat

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


class PrecomputedFeatures(nn.Module):
    """Lets torchmetrics' image metrics consume features that were extracted already."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, seed: int,
                    subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
                    ) -> tuple[float, float, int]:
    """Unbiased MMD^2 with the cubic polynomial kernel, mean and std over random subsets."""
    subset_size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():
        # It warns that it keeps every feature; it must, to draw subsets, and they are small.
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]),
                                         subsets=subsets, subset_size=subset_size)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):  # subsets drawn from the run's seed only
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std), subset_size


class FeatureDistanceMetric(InFeatureSpace, Metric):
    reads: ClassVar[type[MetricInputs]] = GeneratedImages
    higher_is_better: ClassVar[bool] = False
    torchmetrics_class: ClassVar[str]

    def __init__(self, name: str, space: FeatureSpace, summary: str) -> None:
        self.name, self.summary, self.space = name, summary, space
        self.Options, self.default, self.cost = space.Options, space.default, space.cost

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"{self.torchmetrics_class} on medbench '{self.space.name}' features",
                version("torchmetrics"))

    def compute(self, inputs: GeneratedImages, options: Any) -> Score:
        extractor = self.space.extractor(options)
        real, fake = inputs.features(extractor)
        value, details = self._distance(real, fake, inputs.context.seed)
        details.update(extractor.describe())
        score = Score(value, {"real": len(real), "generated": len(fake)}, details)
        caveat = unofficial_caveat(details, self.name.upper())
        if caveat:
            score.comparable, score.caveat = False, caveat
        return score

    @abstractmethod
    def _distance(self, real: torch.Tensor, fake: torch.Tensor,
                  seed: int) -> tuple[float, dict[str, Any]]:
        """(value, details) from real and generated features."""


class FrechetDistanceMetric(FeatureDistanceMetric):
    units: ClassVar[str] = "squared feature-space distance"
    torchmetrics_class: ClassVar[str] = "torchmetrics.image.fid.FrechetInceptionDistance"

    def _distance(self, real: torch.Tensor, fake: torch.Tensor,
                  seed: int) -> tuple[float, dict[str, Any]]:
        return frechet_distance(real, fake), {}


class KernelDistanceMetric(FeatureDistanceMetric):
    units: ClassVar[str] = "unbiased MMD^2, cubic polynomial kernel"
    range: ClassVar[tuple[float | None, float | None]] = (None, None)  # unbiased: can dip < 0
    torchmetrics_class: ClassVar[str] = "torchmetrics.image.kid.KernelInceptionDistance"

    def _distance(self, real: torch.Tensor, fake: torch.Tensor,
                  seed: int) -> tuple[float, dict[str, Any]]:
        mean, std, subset_size = kernel_distance(real, fake, seed)
        return mean, {"std_over_subsets": std, "subsets": KID_SUBSETS,
                      "subset_size": subset_size}


# What the two distances are, completed by each space's summary.
FD_SUMMARY = "Fréchet distance in {}"
KID_SUMMARY = "Kernel distance (KID; unbiased at small sample sizes) in {}"


def distance_metrics(spaces: tuple[FeatureSpace, ...]) -> list[Metric]:
    """FD and KID in every registered feature space."""
    metrics: list[Metric] = []
    for space in spaces:
        metrics += [FrechetDistanceMetric(space.fd_name, space, FD_SUMMARY.format(space.summary)),
                    KernelDistanceMetric(f"kid_{space.name}", space,
                                         KID_SUMMARY.format(space.summary))]
    return metrics


@hookimpl
def register_metrics(register, feature_spaces) -> None:
    for metric in distance_metrics(feature_spaces):
        register(metric)
