"""Return real images the metric has not seen: the validation split.

A perfect generator is indistinguishable from fresh real images, so this row shows what
each metric reads for "as good as real" at the run's sample size.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from medbench.api import DataInfo, ImagePool, Split, SynthesisMethod, TrainContext


class Holdout(SynthesisMethod):
    name: ClassVar[str] = "holdout"
    summary: ClassVar[str] = "Real validation images (reference row: the floor of each metric)"
    reference: ClassVar[bool] = True

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.pool: ImagePool | None = None

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        self.pool = ImagePool(val["image"].clone())

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert self.pool is not None
        return self.pool.draw(n, generator)

    def state_dict(self) -> dict[str, Any]:
        assert self.pool is not None
        return {"images": self.pool.images}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool = ImagePool(state["images"])
