"""The reference rows that return real images (holdout, train-copy): a method whose
"generator" draws from a pool of images."""

from __future__ import annotations

from typing import Any

import torch

from medbench.api import DataInfo, ImagePool, SynthesisMethod


class PoolMethod(SynthesisMethod):
    """Samples are drawn from `self.pool`, which `fit` fills; it is the whole state."""

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.pool: ImagePool | None = None

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert self.pool is not None, "fit fills the pool"
        return self.pool.draw(n, generator)

    def state_dict(self) -> dict[str, Any]:
        assert self.pool is not None, "fit fills the pool"
        return {"images": self.pool.images}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool = ImagePool(state["images"])
