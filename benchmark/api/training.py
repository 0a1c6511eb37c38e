"""The training context: the only door between a method's training loop and the harness.

It feeds batches from the split that `fit` received, enforces the budget in images seen,
records losses, and stops the run at the first non-finite loss. The harness builds it;
methods only use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, overload, runtime_checkable

import torch

from medbench.api.data import Split
from medbench.api.progress import Bar
from medbench.api.seeding import global_rng_state, set_global_rng_state

# --precision: full float32; bfloat16 autocast; float16 autocast with a gradient scaler.
PRECISIONS = ("32", "bf16", "16-mixed")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "16-mixed": torch.float16}

# Logged steps between reads of the losses from a GPU (see TrainContext.sync_every).
SYNC_EVERY = 10
# A split is kept on a CUDA device when it takes at most this share of its free memory;
# larger ones stay in pinned host memory, copied a batch at a time.
RESIDENT_SHARE = 0.25


@runtime_checkable
class Stateful(Protocol):
    """What `TrainContext.track` saves and restores: a network, an optimizer, a scheduler,
    a gradient scaler, or a method itself (its `state_dict` and `load_state_dict`)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any], /) -> Any: ...


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
                 precision: str = "32", compile: bool = False) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got "
                             f"'{precision}'")
        self.budget_images = budget_images
        self.device = device
        self.precision = precision
        self.compile = compile  # --compile: `compiled` hands back torch.compile'd modules
        self.compiled_modules = 0  # how many it did, for the record
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
        # Crash-safe resume (see `track`): what this context's `fit` registered, how often it
        # asked for batches, and, on the root, where checkpoints go and what to resume from.
        self._tracked: dict[str, Stateful | torch.Generator] = {}
        self._calls = 0
        self._save: Callable[[dict[str, Any]], None] | None = None
        self._checkpoint_every = 0
        self._next_checkpoint = 0
        self._resume: dict[str, Any] | None = None

    def track(self, **objects: Stateful | torch.Generator) -> None:
        """Register the training state that checkpoints save, so a killed run resumes.

        Pass everything `fit` changes as it trains, besides what the harness owns (the
        batches, their order, the global random streams, the loss log): networks,
        optimizers, schedulers, any `torch.Generator` of the method's own, or the method
        itself when its `state_dict` covers more. Call it once they exist, before the
        first ``batches()``; on resume they are restored at that call, and training goes
        on from the checkpoint's batch. Methods that do so set ``resumable = True``
        (docs/writing-a-method.md, "Resuming").
        """
        for name, value in objects.items():
            if not isinstance(value, (Stateful, torch.Generator)):
                raise TypeError(f"track({name}=...) needs an object with state_dict() and "
                                f"load_state_dict(), or a torch.Generator; got "
                                f"{type(value).__name__}")
            self._tracked[name] = value

    def checkpoint_to(self, save: Callable[[dict[str, Any]], None], every: int) -> None:
        """For the harness: call `save` with the training state every `every` images."""
        self._save, self._checkpoint_every, self._next_checkpoint = save, every, every

    def resume_from(self, state: dict[str, Any]) -> None:
        """For the harness: restore `state` (a checkpoint's training state) when `fit`
        reaches the batch it was taken at."""
        self._resume = state

    @property
    def resume_pending(self) -> bool:
        """For the harness: a checkpoint was given to resume from, and `fit` has not yet
        reached its batch."""
        return self._root()._resume is not None

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
        call, self._calls = self._calls, self._calls + 1
        position = self._resumed_position(call)
        if position == "done":
            return
        while self.remaining_images > 0:
            if isinstance(position, tuple):  # resuming inside the pass of the checkpoint
                (order, first), position = position, None
            else:
                order, first = torch.randperm(n, generator=self.generator), 0
            if on_device:
                order = order.to(self.device)
            for start in range(first, n - batch_size + 1 if n >= batch_size else 1,
                               batch_size):
                take = min(batch_size, self.remaining_images, n - start)
                if take <= 0:
                    return
                self._checkpoint_if_due(call, order, start)
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

    def compiled(self, module: torch.nn.Module) -> Callable[..., Any]:
        """What `fit` should call instead of `module`: ``torch.compile(module)`` when the run
        asked for ``--compile``, else `module` itself. The compiled wrapper shares the
        module's parameters; keep saving, loading and sampling through `module`, so state
        dicts keep their keys. Methods that use it set ``compiles = True``."""
        root = self._root()
        if not root.compile:
            return module
        root.compiled_modules += 1
        return torch.compile(module)

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

    # --- checkpoints and resume -------------------------------------------------------
    # A checkpoint is taken inside `batches()`, between two batches: the method's last step
    # is complete and the next has not begun. It names that point (the context, which of
    # its `batches()` calls, the pass's order and position), so a resumed run restores
    # everything exactly there, after whatever `fit` did before asking for batches.

    def _contexts(self) -> Iterator[TrainContext]:
        yield self
        for child, _ in self._parts.values():
            yield from child._contexts()

    def _checkpoint_if_due(self, call: int, order: torch.Tensor, start: int) -> None:
        root = self._root()
        if root._save is None or root.images_seen < root._next_checkpoint:
            return
        root.flush()
        while root._next_checkpoint <= root.images_seen:
            root._next_checkpoint += root._checkpoint_every
        tracked = [context for context in root._contexts() if context._tracked]
        if not tracked:
            return  # a method that registered nothing has nothing to resume from
        root._save({
            "images_seen": root.images_seen,
            "cursor": {"context": self._prefix, "call": call, "order": order.cpu(),
                       "start": start},
            "contexts": {context._prefix: context._own_state() for context in root._contexts()},
            "losses": [dict(row) for row in root.losses.rows],
            "warnings": list(root.warnings),
            "rng": {"global": global_rng_state(), "batches": root.generator.get_state()},
            "scalers": {name: scaler.state_dict() for name, scaler in root._named_scalers()},
            "next_checkpoint": root._next_checkpoint,
        })

    def _own_state(self) -> dict[str, Any]:
        return {"images_budget": self.budget_images, "images_seen": self.images_seen,
                "step": self.step, "last_losses": dict(self.last_losses),
                "tracked": {name: value.get_state() if isinstance(value, torch.Generator)
                            else value.state_dict() for name, value in self._tracked.items()}}

    def _named_scalers(self) -> Iterator[tuple[str, torch.amp.GradScaler]]:
        """The 16-mixed gradient scalers, by the tracked name of their optimizer."""
        for context in self._contexts():
            for name, value in context._tracked.items():
                if id(value) in self._scalers:
                    yield context._prefix + name, self._scalers[id(value)]

    def _resumed_position(self, call: int) -> tuple[torch.Tensor, int] | str | None:
        """Where the `call`-th `batches()` of this context starts when resuming: the
        checkpoint's pass and position ("done": a call the checkpoint had finished, which
        yields nothing); None when not resuming."""
        root = self._root()
        state = root._resume
        if state is None or self._prefix not in state["contexts"]:
            return None
        cursor = state["cursor"]
        if (cursor["context"], cursor["call"]) != (self._prefix, call):
            self._restore_own(state["contexts"][self._prefix])
            return "done"
        for context in root._contexts():
            if context._prefix in state["contexts"]:
                context._restore_own(state["contexts"][context._prefix])
        root.losses.rows[:] = state["losses"]
        root.warnings[:] = state["warnings"]
        for name, scaler_state in state["scalers"].items():
            optimizer = root._tracked_object(name)
            root._scalers.setdefault(id(optimizer), torch.amp.GradScaler(self.device.type)
                                     ).load_state_dict(scaler_state)
        set_global_rng_state(state["rng"]["global"])
        root.generator.set_state(state["rng"]["batches"])
        root._next_checkpoint = state["next_checkpoint"]
        root._bar.advance(root.images_seen)
        root._resume = None
        return cursor["order"], cursor["start"]

    def _restore_own(self, saved: dict[str, Any]) -> None:
        missing = sorted(set(self._tracked) ^ set(saved["tracked"]))
        if missing:
            raise ValueError(f"the checkpoint's training state does not match what the method "
                             f"tracks ({', '.join(missing)}); it was written by other code")
        self.budget_images, self.images_seen = saved["images_budget"], saved["images_seen"]
        self.step, self.last_losses = saved["step"], dict(saved["last_losses"])
        for name, value in self._tracked.items():
            if isinstance(value, torch.Generator):
                value.set_state(saved["tracked"][name])
            else:
                value.load_state_dict(saved["tracked"][name])

    def _tracked_object(self, qualified: str) -> Stateful | torch.Generator:
        for context in self._contexts():
            for name, value in context._tracked.items():
                if context._prefix + name == qualified:
                    return value
        raise ValueError(f"the checkpoint has a gradient scaler for '{qualified}', which the "
                         f"method does not track")

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
