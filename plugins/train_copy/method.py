"""Return training images unchanged: a generator that memorised its training set.

It looks perfect to a distribution distance (the train split is drawn from the same
distribution as the test split) and must be caught by the memorization audit.
"""

from __future__ import annotations

from typing import ClassVar

from medbench.api import ImagePool, Split, TrainContext
from medbench.plugins.components.pools import PoolMethod


class TrainCopy(PoolMethod):
    name: ClassVar[str] = "train-copy"
    summary: ClassVar[str] = ("Training images, copied (reference row: what the memorization "
                              "audit must flag)")
    reference: ClassVar[bool] = True

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        self.pool = ImagePool(train["image"].clone())
        context.count_images(len(train))
