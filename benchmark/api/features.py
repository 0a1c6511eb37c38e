"""Feature spaces: where distribution metrics (FD, KID, PRDC) compare images.

A plugin registers a `FeatureSpace` (hook `register_feature_spaces`); the harness then
computes every distance metric in it, named after the space (``fd_NAME``, ``kid_NAME``,
``precision_NAME``, ...), with no new metric code. A space is an extractor (images ->
features) and the pretrained weights it reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from medbench.api.progress import Bar

if TYPE_CHECKING:
    from medbench.api.weights import PinnedWeights


class FeatureExtractor(ABC):
    """Maps images (N, C, H, W) in [0, 1] to features (N, D).

    `identity` must change whenever the features could change (weights, preprocessing), so
    cached reference features and published values are only compared like with like.
    """

    name: str
    batch_size: int = 100

    @abstractmethod
    def identity(self) -> str:
        """A stable id naming architecture, weights hash and preprocessing.

        Raises MetricUnavailable when the extractor cannot be built here.
        """

    @abstractmethod
    def network(self, device: torch.device) -> torch.nn.Module:
        """The network that maps a preprocessed batch to features."""

    @abstractmethod
    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Bring a batch of [0, 1] images to the network's input convention."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What the record should say about this extractor and its preprocessing."""

    @torch.no_grad()
    def extract(self, images: torch.Tensor, device: torch.device, bar: Bar) -> torch.Tensor:
        net = self.network(device)
        chunks = []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size].to(device).float()
            chunks.append(net(self.preprocess(batch)).float().cpu())
            bar.advance(len(batch))
        return torch.cat(chunks)


def _no_weights(options: Any) -> tuple[PinnedWeights, ...]:
    return ()


@dataclass(frozen=True)
class FeatureSpace:
    """A named feature space: how to build its extractor from a metric's options.

    `Options` is a dataclass of the metric options the extractor reads (a weights path,
    say); every metric in the space takes them. `weights(options)` names the pretrained
    files the extractor reads with those options, so the harness can fetch them before
    training.
    """

    name: str  # lowercase; the metrics are named fd_NAME, kid_NAME, precision_NAME, ...
    summary: str  # completes "Fréchet distance in ...", e.g. "SwAV ResNet-50 features"
    Options: type
    extractor: Callable[[Any], FeatureExtractor]
    default: bool  # whether its metrics run without --metrics
    cost: str  # "cheap" or "expensive", as for metrics
    weights: Callable[[Any], tuple[PinnedWeights, ...]] = field(default=_no_weights)
    # The Fréchet distance's name where the field knows it by another (pytorch-fid's: fid).
    fd_metric: str = ""

    @property
    def fd_name(self) -> str:
        return self.fd_metric or f"fd_{self.name}"


class InFeatureSpace:
    """Mixed into a metric computed in `space`: the space's weights are the metric's."""

    space: FeatureSpace

    def weights(self, options: Any) -> tuple[PinnedWeights, ...]:
        return self.space.weights(options)
