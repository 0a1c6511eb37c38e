"""Return real images the metric has not seen: the validation split.

A perfect generator is indistinguishable from fresh real images, so this row shows what
each metric reads for "as good as real" at the run's sample size.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext


class Holdout(SynthesisMethod):
    name: ClassVar[str] = "holdout"
    summary: ClassVar[str] = "Real validation images (reference row: the floor of each metric)"

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.images: torch.Tensor | None = None
        self._queue = torch.empty(0, dtype=torch.long)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        self.images = val["image"].clone()

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert self.images is not None
        # Without replacement across calls while the split lasts, so duplicates never
        # flatter the score; only a request beyond the split's size repeats images.
        while len(self._queue) < n:
            fresh = torch.randperm(len(self.images), generator=generator)
            self._queue = torch.cat([self._queue, fresh])
        taken, self._queue = self._queue[:n], self._queue[n:]
        return self.images[taken]

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = state["images"]
