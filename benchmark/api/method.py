"""What a method plugin provides.

A method only learns and predicts. The harness owns seeding, the device, the budget, data
handling, checkpoints, evaluation and storage, and hands the method what it needs.
"""

from __future__ import annotations

import dataclasses
import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from medbench.api.dataset import DataInfo, Split

if TYPE_CHECKING:
    from medbench.run.training import TrainContext


@dataclasses.dataclass
class NoConfig:
    """For methods without hyperparameters."""


class Method(ABC):
    """Base class of every method.

    Subclasses set `name`, `tasks` (the task names they support), `summary`, and `Config`,
    a dataclass of hyperparameters whose fields `--set key=value` can override.
    """

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]
    Config: ClassVar[type] = NoConfig
    # Conditional methods receive the class labels wanted for each sample.
    conditional: ClassVar[bool] = False

    def __init__(self, config: Any, data: DataInfo, device: torch.device) -> None:
        self.config = config
        self.data = data
        self.device = device

    @abstractmethod
    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        """Learn from the train split within the budget that `context` enforces."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the trained method; saved as the checkpoint."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    @classmethod
    def card_path(cls) -> Path:
        """The model card, README.md beside the module that defines the method."""
        return Path(inspect.getfile(cls)).parent / "README.md"


class SynthesisMethod(Method):
    """A method that draws new images from what it learnt."""

    @abstractmethod
    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        """Return `n` images, (n, C, H, W) float in [0, 1], on any device.

        `labels` is given (shape (n,)) only when the method is `conditional`. Draw all
        randomness from `generator` so that sampling is reproducible. The harness calls
        this under torch.no_grad().
        """
