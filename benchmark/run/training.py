"""The training context: the only door between a method's training loop and the harness.

It feeds batches from the train split, enforces the budget in images seen, records losses,
and stops the run at the first non-finite loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from medbench.api.dataset import Split
from medbench.progress import Bar


class Diverged(Exception):
    """A loss became NaN or infinite; the run is recorded as diverged."""

    def __init__(self, step: int, images_seen: int, loss: str, value: float) -> None:
        super().__init__(f"loss '{loss}' became {value} at step {step} "
                         f"({images_seen} images seen)")
        self.step, self.images_seen, self.loss, self.value = step, images_seen, loss, value


@dataclass
class LossLog:
    """Losses at every `every`-th step, for the run's losses.csv."""

    every: int = 10
    rows: list[dict[str, float]] = field(default_factory=list)


class TrainContext:
    def __init__(self, budget_images: int, device: torch.device, generator: torch.Generator,
                 bar: Bar, log_every: int = 10) -> None:
        self.budget_images = budget_images
        self.device = device
        self.generator = generator  # CPU generator seeded by the harness
        self.images_seen = 0
        self.step = 0
        self.losses = LossLog(every=log_every)
        self._bar = bar

    @property
    def remaining_images(self) -> int:
        return max(0, self.budget_images - self.images_seen)

    def batches(self, split: Split, batch_size: int, *, with_labels: bool = False,
                ) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled mini-batches on the run's device until the budget is spent.

        The last batch is cut short so that exactly `budget_images` images are seen. Each
        batch counts against the budget when it is handed out.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        n = len(split)
        while self.remaining_images > 0:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
                take = min(batch_size, self.remaining_images, n - start)
                if take <= 0:
                    return
                index = order[start : start + take]
                images = split.images[index].to(self.device, non_blocking=True)
                self.images_seen += take
                self.step += 1
                self._bar.advance(take)
                if with_labels:
                    yield images, split.labels[index].to(self.device, non_blocking=True)
                else:
                    yield images

    def count_images(self, n: int) -> None:
        """For methods that consume data without `batches()` (e.g. a closed-form fit)."""
        take = min(n, self.remaining_images)
        self.images_seen += take
        self._bar.advance(take)

    def log(self, **losses: float | torch.Tensor) -> None:
        """Report this step's losses; raises Diverged on the first NaN or infinity."""
        values = {name: float(value) for name, value in losses.items()}
        for name, value in values.items():
            if not math.isfinite(value):
                raise Diverged(self.step, self.images_seen, name, value)
        if self.step % self.losses.every == 0:
            self.losses.rows.append({"step": self.step, "images_seen": self.images_seen,
                                     **values})
            self._bar.note("  ".join(f"{k} {v:.3f}" for k, v in values.items()))
