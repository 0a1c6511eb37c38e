"""What a method plugin provides.

A method only learns and predicts. The harness owns seeding, the device, the budget, data
handling, checkpoints, evaluation and storage, and hands the method what it needs. Which
tasks a method can run follows from the protocol it implements: a task names the API base
class it needs (e.g. :class:`medbench.api.synthesis.SynthesisMethod`), and every method
subclassing it is offered to that task, unless it declines it in `declines`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from importlib import resources
from typing import Any, ClassVar

import torch

from medbench.api.data import DataInfo, Split
from medbench.api.training import TrainContext

CARD_FILENAME = "README.md"


@dataclasses.dataclass
class NoConfig:
    """For methods without hyperparameters."""


class Method(ABC):
    """Base class of every method.

    Subclasses set `name`, `summary`, and optionally `Config` (a dataclass of
    hyperparameters whose fields ``--set key=value`` can override; validate them in
    ``__post_init__`` and raise ValueError) and `declines` (task name -> reason, for tasks
    whose protocol the method implements but which it should not run), `reference` and
    `budget_defaults`.

    ``__init__(config, data, device)`` receives the built Config, the :class:`DataInfo` of
    what `fit` will receive (image size, fields, classes, spacing), and the run's device.
    Build networks there, on `device`. The harness seeds torch before calling it.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type] = NoConfig
    declines: ClassVar[dict[str, str]] = {}
    # True for reference rows (real held-out images, copies of the train set, the input
    # itself): they calibrate what a metric reads and are shown apart from ranked methods.
    reference: ClassVar[bool] = False
    # Config values that differ from the Config's defaults at a named budget (e.g. fewer
    # critic steps at `smoke`); ``--set`` still overrides them, and the record holds the
    # resolved Config. Document them in the model card.
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    # Training precisions the method supports (`--precision`): "32" always; "bf16" and
    # "16-mixed" once `fit` runs its forward passes in `context.autocast()` and its updates
    # through `context.backward_step(loss, optimizer)`.
    precisions: ClassVar[tuple[str, ...]] = ("32",)
    # True once `fit` calls its networks through `context.compiled(network)`: `--compile`
    # then runs them torch.compile'd. False: `--compile` is refused for this method.
    compiles: ClassVar[bool] = False
    # True once `fit` registers its training state with `context.track(...)` and its loop
    # carries on from the context's state (docs/writing-a-method.md, "Resuming"): a killed
    # run then resumes from its last checkpoint. False: it restarts from zero, with a notice.
    resumable: ClassVar[bool] = False
    # Set by a task that adapted the method for a run (e.g. the per-class protocol): one
    # line for the record. Methods leave it None.
    adaptation: str | None = None
    # The model card's file name beside the module; methods sharing a package name theirs.
    card_file: ClassVar[str] = CARD_FILENAME

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        self.config = config
        self.data = data
        self.device = device

    @abstractmethod
    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        """Learn from what the task gave, within the budget that `context` enforces.

        `train` and `val` are what the task chose (e.g. normal images only); the test split
        never reaches a method. Take batches from ``context.batches(train, ...)`` and report
        losses with ``context.log(...)``.
        """

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the trained method; saved as the run's checkpoint.

        Tensors, numbers, strings, lists and dicts only: checkpoints load with
        ``torch.load(weights_only=True)``.
        """
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned; `medbench evaluate` rescores checkpoints."""

    @classmethod
    def card(cls) -> str | None:
        """The model card: `card_file` (README.md) beside the method's module, if shipped.

        Read through importlib.resources, so it is found inside an installed wheel too, as
        long as the wheel includes it as package data.
        """
        package = cls.__module__.rpartition(".")[0] or cls.__module__
        try:
            resource = resources.files(package).joinpath(cls.card_file)
            return resource.read_text(encoding="utf-8") if resource.is_file() else None
        except Exception:  # however a plugin is packaged, no card is only a warning
            return None
