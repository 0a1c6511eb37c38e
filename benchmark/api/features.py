"""The contract of a feature extractor, for metrics that compare images in a feature space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from medbench.api.progress import Bar


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
