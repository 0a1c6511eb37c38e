"""Return training images unchanged: a generator that memorised its training set.

It looks perfect to a distribution distance (the train split is drawn from the same
distribution as the test split) and must be caught by the memorization audit.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from medbench.api import DataInfo, ImagePool, Split, SynthesisMethod, TrainContext


class TrainCopy(SynthesisMethod):
    name: ClassVar[str] = "train-copy"
    summary: ClassVar[str] = ("Training images, copied (reference row: what the memorization "
                              "audit must flag)")
    reference: ClassVar[bool] = True

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.pool: ImagePool | None = None

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        self.pool = ImagePool(train["image"].clone())
        context.count_images(len(train))

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert self.pool is not None
        return self.pool.draw(n, generator)

    def state_dict(self) -> dict[str, Any]:
        assert self.pool is not None
        return {"images": self.pool.images}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool = ImagePool(state["images"])
