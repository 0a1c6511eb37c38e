"""Return real images the metric has not seen: the validation split.

A perfect generator is indistinguishable from fresh real images, so this row shows what
each metric reads for "as good as real" at the run's sample size.
"""

from __future__ import annotations

from typing import ClassVar

from medbench.api import ImagePool, Split, TrainContext
from medbench.plugins.components.pools import PoolMethod


class Holdout(PoolMethod):
    name: ClassVar[str] = "holdout"
    summary: ClassVar[str] = "Real validation images (reference row: the floor of each metric)"
    reference: ClassVar[bool] = True

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        self.pool = ImagePool(val["image"].clone())
