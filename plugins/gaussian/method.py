"""Fit a Gaussian to the training images in PCA space and sample from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from sklearn.decomposition import PCA

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext


@dataclass
class GaussianConfig:
    components: int = 128  # principal components kept (capped by the data)

    def __post_init__(self) -> None:
        if not 1 <= self.components <= 4096:
            raise ValueError(f"components must lie in [1, 4096], got {self.components}")


class GaussianPCA(SynthesisMethod):
    name: ClassVar[str] = "gaussian"
    summary: ClassVar[str] = "Multivariate Gaussian over the top principal components (baseline)"
    Config: ClassVar[type] = GaussianConfig

    def __init__(self, config: GaussianConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.mean: torch.Tensor | None = None
        self.components: torch.Tensor | None = None  # (k, pixels)
        self.stddev: torch.Tensor | None = None  # (k,)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        flat = train["image"].flatten(1).double().numpy()
        k = min(self.config.components, *flat.shape)
        # PCA decorrelates the pixels, so a diagonal Gaussian over the scores is the full fit.
        pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(flat)
        self.mean = torch.from_numpy(pca.mean_).float()
        self.components = torch.from_numpy(pca.components_).float()
        self.stddev = torch.from_numpy(pca.explained_variance_).float().sqrt()
        context.count_images(len(train))  # one pass over the data

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert self.mean is not None and self.components is not None and self.stddev is not None
        scores = torch.randn(n, len(self.stddev), generator=generator) * self.stddev
        flat = scores @ self.components + self.mean
        shape = (n, self.data.channels, self.data.image_size, self.data.image_size)
        return flat.reshape(shape).clamp(0.0, 1.0)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "components": self.components, "stddev": self.stddev}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.components, self.stddev = (state["mean"], state["components"],
                                                   state["stddev"])
