"""The training context's loss log: read back every step on a CPU, every `sync_every` steps
elsewhere, with the same rows and the same divergence verdict either way."""

from __future__ import annotations

import math

import pytest
import torch

from medbench.api import Diverged, SilentProgress, Split, TrainContext
from medbench.datasets.phantom.dataset import AbdominalPhantom


def _split(n: int = 64) -> Split:
    info = AbdominalPhantom().info(8).select(["image"])
    return Split("train", {"image": torch.rand(n, 1, 8, 8, generator=torch.Generator()
                                               .manual_seed(1))}, info)


def _train(sync_every: int, nan_at: int | None = None) -> TrainContext:
    with SilentProgress().bar("", None) as bar:
        context = TrainContext(8 * 40, torch.device("cpu"), torch.Generator().manual_seed(0),
                               bar, log_every=10, sync_every=sync_every)
        for batch in context.batches(_split(), 8):
            loss = batch.mean() if context.step != nan_at else torch.tensor(math.nan)
            context.log(loss=loss, other=float(context.step))
        context.flush()
    return context


def test_deferred_reads_keep_every_row_and_the_last_losses() -> None:
    every_step, deferred = _train(1), _train(10)
    assert deferred.losses.rows == every_step.losses.rows and len(every_step.losses.rows) == 4
    assert deferred.last_losses == every_step.last_losses
    assert every_step.sync_every == 1 and TrainContext(
        1, torch.device("meta"), torch.Generator(), None).sync_every == 10


@pytest.mark.parametrize("sync_every", [1, 10])
def test_a_nan_is_reported_at_the_step_it_appeared(sync_every: int) -> None:
    with pytest.raises(Diverged) as caught:
        _train(sync_every, nan_at=13)
    assert (caught.value.step, caught.value.images_seen, caught.value.loss) == (13, 104, "loss")
