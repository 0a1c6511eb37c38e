"""The training context: the only door between a method's training loop and the harness.

It feeds batches from the split that `fit` received, enforces the budget in images seen,
records losses, and stops the run at the first non-finite loss. The harness builds it;
methods only use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, overload

import torch

from medbench.api.data import Split
from medbench.api.progress import Bar

# --precision: full float32; bfloat16 autocast; float16 autocast with a gradient scaler.
PRECISIONS = ("32", "bf16", "16-mixed")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16-mixed": torch.float16}

# Logged steps between reads of the losses from a GPU (see TrainContext.sync_every).
SYNC_EVERY = 10
# A split is kept on a CUDA device when it takes at most this share of its free memory;
# larger ones stay in pinned host memory, copied a batch at a time.
RESIDENT_SHARE = 0.25


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


def stalled_losses(rows: list[dict[str, float]], window: int = 20) -> list[str]:
    """Losses that did not move over the last `window` logged steps.

    A collapsed run (a generator loss stuck at 1e14, a discriminator at 0) is a legitimate
    result, but worth a warning before anyone spends an evaluation on it.
    """
    if len(rows) < window:
        return []
    recent = rows[-window:]
    found = []
    for name in (key for key in recent[-1] if key not in ("step", "images_seen")):
        values = [row[name] for row in recent if name in row]
        scale = max(1.0, *(abs(value) for value in values))
        if len(values) == window and max(values) - min(values) <= 1e-6 * scale:
            found.append(f"loss '{name}' stayed at {values[-1]:.4g} over steps "
                         f"{recent[0]['step']:.0f}-{recent[-1]['step']:.0f}: training may "
                         f"have collapsed")
    return found


class TrainContext:
    """Batches within the budget, loss logging, and the run's device and generator.

    - ``device``: the run's device; batches arrive on it and the method's networks live on it.
    - ``generator``: a CPU ``torch.Generator`` seeded by the harness, for any randomness a
      method wants to keep apart from torch's global stream.
    - ``images_seen`` and ``remaining_images``: the budget, counted in images.
    """

    def __init__(self, budget_images: int, device: torch.device, generator: torch.Generator,
                 bar: Bar, log_every: int = 10, sync_every: int | None = None,
                 precision: str = "32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                             f"'{precision}'")
        self.budget_images = budget_images
        self.device = device
        self.precision = precision
        self._scalers: dict[int, torch.amp.GradScaler] = {}  # per optimizer, at 16-mixed
        self.generator = generator
        self.images_seen = 0
        self.step = 0
        # Losses are read back from the device (a synchronisation) every `sync_every` logged
        # steps, not every step: on a GPU the next steps are queued meanwhile. A NaN is
        # therefore caught at most `sync_every` - 1 steps late, and reported at the step it
        # appeared. On a CPU reading is free, so every step.
        self.sync_every = sync_every or (1 if device.type == "cpu" else SYNC_EVERY)
        # (context, step, images seen, its own step, losses) logged but not yet read back
        self._pending: list[tuple[TrainContext, int, int, int,
                                  dict[str, float | torch.Tensor]]] = []
        # id of a split tensor -> (that tensor, kept so its id is never reused; its copy)
        self._resident: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.losses = LossLog(every=log_every)
        self.last_losses: dict[str, float] = {}  # the latest step's losses, logged or not
        self.warnings: list[str] = []  # for the record, e.g. a part's batch size reduced
        self._bar = bar
        self._parent: TrainContext | None = None
        self._prefix = ""
        self._parts: dict[str, tuple[TrainContext, int]] = {}

    def part(self, name: str, images: int, size: int) -> TrainContext:
        """A share of this budget for one piece of a method trained piecewise, e.g. one model
        per class (the per-class protocol). The share's batches, steps and losses (named
        ``name/loss``) count in this context too; the record lists every part. `size` is
        how many training samples the part has. A part whose split is smaller than the
        batch size asked gets batches of its whole split, with a warning in the record.
        """
        if name in self._parts:
            raise ValueError(f"part '{name}' exists already")
        child = TrainContext(min(images, self.remaining_images), self.device, self.generator,
                             self._bar, self.losses.every)
        child.losses, child._parent, child._prefix = self.losses, self, f"{self._prefix}{name}/"
        child.warnings = self.warnings
        self._parts[name] = (child, size)
        return child

    @property
    def parts(self) -> dict[str, dict[str, int]]:
        """Each part's budget share and use, for the record; empty when not piecewise."""
        return {name: {"train_size": size, "images_budget": child.budget_images,
                       "images_seen": child.images_seen, "steps": child.step}
                for name, (child, size) in self._parts.items()}

    def _count(self, images: int, steps: int) -> None:
        context: TrainContext | None = self
        while context is not None:
            context.images_seen += images
            context.step += steps
            context = context._parent

    def _root(self) -> TrainContext:
        return self if self._parent is None else self._parent._root()

    @property
    def remaining_images(self) -> int:
        return max(0, self.budget_images - self.images_seen)

    @overload
    def batches(self, split: Split, batch_size: int, fields: str = "image",
                ) -> Iterator[torch.Tensor]: ...

    @overload
    def batches(self, split: Split, batch_size: int, fields: Sequence[str],
                ) -> Iterator[tuple[torch.Tensor, ...]]: ...

    def batches(self, split: Split, batch_size: int,
                fields: str | Sequence[str] = "image",
                ) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, ...]]:
        """Shuffled mini-batches, already on ``device``, until the budget is spent.

        `fields` names one field (each batch is that tensor) or several (each batch is a
        tuple in that order, e.g. ``fields=("image", "label")``). Every pass over the split
        is a fresh permutation drawn from the harness's generator; a pass drops its last
        incomplete batch, and the run's last batch is cut short so that exactly the budget
        is seen. Each batch counts against the budget when it is handed out.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        names = (fields,) if isinstance(fields, str) else tuple(fields)
        tensors = [split[name] for name in names]
        n = len(split)
        if n == 0:
            raise ValueError(f"split '{split.name}' is empty; there is nothing to train on")
        if batch_size > n and self._parent is not None:
            self.warnings.append(f"part '{self._prefix[:-1]}' has {n} training samples, "
                                 f"fewer than the batch size {batch_size}: its batches hold "
                                 f"{n}")
            batch_size = n
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the {n} samples of split "
                             f"'{split.name}'; use at most {n}")
        tensors = [self._root()._placed(tensor) for tensor in tensors]
        # By type: a run on "cuda" holds its tensors on "cuda:0".
        on_device = all(tensor.device.type == self.device.type for tensor in tensors)
        while self.remaining_images > 0:
            order = torch.randperm(n, generator=self.generator)
            if on_device:
                order = order.to(self.device)
            for start in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
                take = min(batch_size, self.remaining_images, n - start)
                if take <= 0:
                    return
                index = order[start : start + take]
                batch = tuple(t[index] if on_device else
                              t[index].to(self.device, non_blocking=True) for t in tensors)
                self._count(take, 1)
                self._bar.advance(take)
                yield batch[0] if isinstance(fields, str) else batch

    def count_images(self, n: int) -> None:
        """For methods that consume data without `batches()`, e.g. a closed-form fit:
        counts `n` images against the budget (at most what remains)."""
        take = min(n, self.remaining_images)
        self._count(take, 0)
        self._bar.advance(take)

    def log(self, **losses: float | torch.Tensor) -> None:
        """Report this step's losses (tensors may stay on the device); raises Diverged at the
        first NaN or infinity, within `sync_every` steps of it, naming the step it appeared.
        """
        root = self._root()
        root._pending.append((self, root.step, root.images_seen, self.step,
                              {self._prefix + name: value for name, value in losses.items()}))
        if len(root._pending) >= root.sync_every:
            root.flush()

    def flush(self) -> None:
        """Read the logged losses back from the device, in one synchronisation, and check
        them. The harness calls it after `fit`; methods need not."""
        root = self._root()
        pending, root._pending = root._pending, []
        tensors = [value for *_, values in pending for value in values.values()
                   if isinstance(value, torch.Tensor)]
        if root.device.type == "cpu" or not tensors:
            read = iter([float(tensor) for tensor in tensors])
        else:  # one copy to the host for all of them (MPS has no float64)
            dtype = torch.float32 if root.device.type == "mps" else torch.float64
            read = iter(torch.stack([tensor.detach().to(root.device, dtype).reshape(())
                                     for tensor in tensors]).tolist())
        for context, step, images_seen, own_step, raw in pending:
            values = {name: next(read) if isinstance(value, torch.Tensor) else float(value)
                      for name, value in raw.items()}
            for name, value in values.items():
                if not math.isfinite(value):
                    raise Diverged(step, images_seen, name, value)
            context.last_losses = values
            if root is not context:
                root.last_losses.update(values)
            if own_step % context.losses.every == 0:
                context.losses.rows.append({"step": step, "images_seen": images_seen,
                                            **values})
                context._bar.note("  ".join(f"{k} {v:.3f}" for k, v in values.items()))

    def autocast(self) -> AbstractContextManager[Any]:
        """Forward passes (and losses) inside it run at the run's precision: torch.autocast
        to bfloat16 or float16; nothing changes at "32"."""
        dtype = _AUTOCAST_DTYPES.get(self._root().precision)
        if dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``loss.backward()`` then ``optimizer.step()``; at "16-mixed" through a gradient
        scaler of that optimizer's own, so small float16 gradients do not vanish."""
        root = self._root()
        if root.precision != "16-mixed":
            loss.backward()
            optimizer.step()
            return
        scaler = root._scalers.setdefault(id(optimizer),
                                          torch.amp.GradScaler(self.device.type))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def _placed(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` where batches are best cut from: itself on a CPU; on a GPU, a copy on
        the device when it fits (RESIDENT_SHARE of free memory), else pinned host memory."""
        if self.device.type == "cpu" or tensor.device.type == self.device.type:
            return tensor
        key = id(tensor)
        if key not in self._resident:
            fits = True
            if self.device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(self.device)
                fits = tensor.nbytes <= RESIDENT_SHARE * free
            self._resident[key] = (tensor, tensor.to(self.device) if fits
                                   else tensor.pin_memory())
        return self._resident[key][1]
