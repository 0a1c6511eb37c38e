"""Precision, recall, density and coverage of generated images, in each feature space.

Precision and recall (Kynkäänniemi et al. 2019) ask whether generated images fall inside
the real images' manifold, and real ones inside the generated manifold. Density and coverage
(Naeem et al. 2020) are their outlier-robust versions: density counts how many real
neighbourhoods hold each generated image, coverage the share of real neighbourhoods that
hold any. A manifold is the union of balls around each sample whose radius is its distance
to its K-th nearest neighbour in the same set (K = 5, as Naeem et al. recommend).

No maintained library on the design card computes these; this follows the definitions of
the authors' `prdc` package, against which tests/test_prdc.py checks it on fixed features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar

import torch

from medbench.api import (
    DistributionInputs,
    FeatureSpace,
    InFeatureSpace,
    Metric,
    MetricInputs,
    Score,
    hookimpl,
)
from medbench.metrics.spaces import unofficial_caveat

NEAREST_K = 5
ROW_CHUNK = 2048  # rows of a distance matrix held at once
# Term-by-term distances, not torch.cdist's default matrix-product formula: that one puts
# identical vectors up to ~1e-6 apart and computes d(a, b) and d(b, a) differently, and here
# ties decide (a copy of a real sample on its neighbour's radius is outside it; density is 1
# for generated = real). About 3x slower; a second per 1,500 x 1,500 at 512 dimensions.
EXACT = "donot_use_mm_for_euclid_dist"


@dataclass(frozen=True)
class PRDC:
    """Per-sample indicators; each metric is the mean of one of them."""

    precision: torch.Tensor  # per generated image: inside some real ball (0/1)
    recall: torch.Tensor  # per real image: inside some generated ball (0/1)
    density: torch.Tensor  # per generated image: real balls holding it, divided by K
    coverage: torch.Tensor  # per real image: its ball holds a generated image (0/1)
    k: int


def _kth_neighbour_radii(points: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    radii = []
    for start in range(0, len(points), ROW_CHUNK):
        distances = torch.cdist(points[start : start + ROW_CHUNK], points,
                                compute_mode=EXACT)
        # The point itself is at distance 0, so the k-th other point is the (k+1)-th value.
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = NEAREST_K) -> PRDC:
    """The four per-sample indicators from real and generated features (N, D)."""
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"precision/recall need more than k={k} real and generated samples, "
                         f"got {len(real)} and {len(fake)}")
    real, fake = real.double(), fake.double()
    real_radii = _kth_neighbour_radii(real, k)
    fake_radii = _kth_neighbour_radii(fake, k)
    distances = torch.cat([torch.cdist(fake[start : start + ROW_CHUNK], real,  # (fake, real)
                                       compute_mode=EXACT)
                           for start in range(0, len(fake), ROW_CHUNK)])
    inside_real = distances < real_radii  # generated image inside the real ball
    real_to_fake = distances.transpose(0, 1)
    inside_fake = real_to_fake < fake_radii  # real image inside the generated ball
    return PRDC(
        precision=inside_real.any(dim=1).double(),
        recall=inside_fake.any(dim=1).double(),
        density=inside_real.sum(dim=1).double() / k,
        coverage=inside_real.any(dim=0).double(),
        k=k,
    )


def mean_interval(values: torch.Tensor) -> list[float]:
    """A normal-approximation 95% interval of the mean over samples."""
    mean = float(values.mean())
    half = 1.96 * float(values.std(unbiased=True)) / math.sqrt(len(values))
    return [round(mean - half, 6), round(mean + half, 6)]


class PRDCMetric(InFeatureSpace, Metric):
    reads: ClassVar[type[MetricInputs]] = DistributionInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "fraction"

    def __init__(self, quantity: str, space: FeatureSpace, summary: str,
                 per: str, upper: float | None = 1.0) -> None:
        self.quantity, self.space, self.per = quantity, space, per
        self.name = f"{quantity}_{space.name}"
        self.summary = f"{summary} ({space.name} features, k={NEAREST_K})"
        self.Options, self.default, self.cost = space.Options, space.default, space.cost
        self.range = (0.0, upper)
        if quantity == "density":
            self.units = "real neighbourhoods per generated image, / k (1 ≈ real)"

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"medbench PRDC (k={NEAREST_K}, definitions of the prdc package) on "
                f"'{self.space.name}' features", version("torch"))

    def compute(self, inputs: DistributionInputs, options: Any) -> Score:
        extractor = self.space.extractor(options)
        real, fake = inputs.features(extractor)
        result = inputs.shared(f"prdc/{extractor.identity()}", lambda: prdc(real, fake))
        values: torch.Tensor = getattr(result, self.quantity)
        details = {"k": result.k, "averaged_over": self.per,
                   "ci95": mean_interval(values),
                   "ci95_method": "normal approximation over samples, manifolds held fixed",
                   **extractor.describe()}
        score = Score(float(values.mean()), {"real": len(real), "generated": len(fake)},
                      details)
        caveat = unofficial_caveat(details, self.name)
        if caveat:
            score.comparable, score.caveat = False, caveat
        return score


def prdc_metrics(spaces: tuple[FeatureSpace, ...]) -> list[Metric]:
    """Precision, recall, density and coverage in every registered feature space."""
    metrics: list[Metric] = []
    for space in spaces:
        metrics += [
            PRDCMetric("precision", space, "Share of generated images inside the real "
                       "manifold: fidelity", per="generated images"),
            PRDCMetric("recall", space, "Share of real images inside the generated "
                       "manifold: diversity", per="real images"),
            PRDCMetric("density", space, "Real neighbourhoods holding each generated image: "
                       "outlier-robust fidelity", per="generated images", upper=None),
            PRDCMetric("coverage", space, "Share of real neighbourhoods holding a generated "
                       "image: outlier-robust diversity", per="real images"),
        ]
    return metrics


@hookimpl
def register_metrics(register, feature_spaces) -> None:
    for metric in prdc_metrics(feature_spaces):
        register(metric)
