"""Distribution distances between generated and real test images, in a feature space.

The distances themselves come from torchmetrics (FrechetInceptionDistance and
KernelInceptionDistance accept any feature network); medbench feeds them features it
extracted once per image set, so FD and KID share one pass of the extractor and the real
test features come from the reference cache.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from medbench.api import (
    FeatureExtractor,
    Metric,
    MetricInputs,
    NoOptions,
    Score,
    SynthesisInputs,
    hookimpl,
)
from medbench.metrics.features.inception import (
    WEIGHTS_FILENAME,
    InceptionExtractor,
    hub_weights_path,
    weights_problem,
)
from medbench.metrics.features.random_cnn import RandomCNNExtractor

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


@dataclass(frozen=True)
class InceptionOptions:
    # pytorch-fid's weights file; None: the torch hub cache. `--inception-weights` sets it.
    inception_weights: Path | None = None

    def __post_init__(self) -> None:
        """Checks the weights file before the run starts, not after training."""
        given = self.inception_weights
        if given is not None and not Path(given).is_file():
            raise ValueError(f"inception_weights {given} is not a file. Pass the path of "
                             f"pytorch-fid's {WEIGHTS_FILENAME}, or omit it")
        path = Path(given) if given is not None else hub_weights_path()
        if path.is_file():
            problem = weights_problem(path)
            if problem:
                where = "" if given is not None else " (the torch hub cache)"
                raise ValueError(f"the Inception weights {path}{where} {problem}. Replace "
                                 f"them with pytorch-fid's {WEIGHTS_FILENAME}")


class FeatureDistanceMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = False
    torchmetrics_class: ClassVar[str]

    def __init__(self, name: str, extractor_name: str,
                 extractor: Callable[[Any], FeatureExtractor], summary: str) -> None:
        self.name, self.summary = name, summary
        self.extractor_name, self._extractor = extractor_name, extractor

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"{self.torchmetrics_class} on medbench '{self.extractor_name}' features",
                version("torchmetrics"))

    def compute(self, inputs: SynthesisInputs, options: Any) -> Score:
        extractor = self._extractor(options)
        real, fake = inputs.features(extractor)
        value, details = self._distance(real, fake, inputs.context.seed)
        details.update(extractor.describe())
        score = Score(value, {"real": len(real), "generated": len(fake)}, details)
        if details.get("official_weights") is False:
            score.comparable = False
            score.caveat = (f"computed with Inception weights that are not pytorch-fid's "
                            f"official ones (sha256 {details['weights_sha256'][:12]}…): not "
                            f"comparable with published {self.name.upper()} values")
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


class _WithInceptionOptions:
    Options: ClassVar[type] = InceptionOptions
    cost = "expensive"  # InceptionV3 at 299x299: about 6 img/s on a 2-core CPU


class InceptionFrechetDistance(_WithInceptionOptions, FrechetDistanceMetric):
    pass


class InceptionKernelDistance(_WithInceptionOptions, KernelDistanceMetric):
    pass


def builtin_metrics() -> list[Metric]:
    random_cnn = RandomCNNExtractor()

    def randcnn(options: NoOptions) -> FeatureExtractor:
        return random_cnn

    def inception(options: InceptionOptions) -> FeatureExtractor:
        return InceptionExtractor(options.inception_weights)

    return [
        FrechetDistanceMetric(
            "fd_randcnn", "randcnn", randcnn,
            "Fréchet distance in a fixed random-CNN embedding; works offline, suits "
            "non-natural images"),
        KernelDistanceMetric("kid_randcnn", "randcnn", randcnn,
                             "Kernel distance (KID) in the same random-CNN embedding; "
                             "unbiased at small sample sizes"),
        InceptionFrechetDistance("fid", "inception", inception,
                                 "Fréchet Inception Distance with pytorch-fid's InceptionV3 "
                                 "weights"),
        InceptionKernelDistance("kid_inception", "inception", inception,
                                "Kernel Inception Distance with pytorch-fid's InceptionV3 "
                                "weights"),
    ]


@hookimpl
def register_metrics(register) -> None:
    for metric in builtin_metrics():
        register(metric)
