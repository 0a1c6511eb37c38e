"""What a task plugin provides: the protocol a method must follow and how it is scored."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from medbench.api.dataset import Split
from medbench.api.method import Method
from medbench.api.metric import MetricResult, MetricSpec

if TYPE_CHECKING:
    from medbench.progress import Progress


@dataclass
class EvalContext:
    """What the harness gives a task for scoring, besides the method and the test split."""

    metrics: list[MetricSpec]
    device: torch.device
    seed: int
    num_samples: int  # how many predictions the budget asks for
    cache_dir: Path  # the shared reference-features cache
    dataset_key: str  # identifies dataset, version, split content and image size for caching
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"inception_weights": path}
    progress: Progress | None = None


@dataclass
class Evaluation:
    metrics: dict[str, MetricResult]
    # Images to show in the run's sample grid, (N, C, H, W) in [0, 1].
    preview: torch.Tensor | None = None
    sample_seconds: float | None = None  # time spent asking the method for predictions
    notices: list[str] = field(default_factory=list)  # one-line hints for the user


class Task(ABC):
    """A benchmark task: which methods it accepts, which data it needs, how it scores."""

    name: ClassVar[str]
    version: ClassVar[str]
    kind: ClassVar[str]
    summary: ClassVar[str]
    default_dataset: ClassVar[str]
    required_fields: ClassVar[tuple[str, ...]] = ("image",)
    method_base: ClassVar[type[Method]] = Method

    def conformance_problem(self, method: type[Method]) -> str | None:
        """Why `method` cannot run this task despite claiming it, or None."""
        if not issubclass(method, self.method_base):
            return (f"method '{method.name}' claims task '{self.name}' but does not subclass "
                    f"{self.method_base.__module__}.{self.method_base.__qualname__}")
        return None

    def metrics_for(self, metrics: list[MetricSpec]) -> list[MetricSpec]:
        return [metric for metric in metrics if self.kind in metric.task_kinds]

    @abstractmethod
    def evaluate(self, method: Method, test: Split, context: EvalContext) -> Evaluation:
        """Score a trained method on the test split, which only the harness and the task see."""
