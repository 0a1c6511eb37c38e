"""What a task plugin provides: the method protocol it needs, what `fit` receives, what the
method is asked at evaluation, and the inputs its metrics read.

The runner knows no task: it builds the splits, lets the task choose what `fit` gets, trains,
lets the task collect the method's predictions, and runs the selected metrics on them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import torch

from medbench.api.data import DataInfo, Split
from medbench.api.method import Method
from medbench.api.metric import MetricInputs
from medbench.api.progress import Progress, SilentProgress
from medbench.api.seeding import derived_generator

if TYPE_CHECKING:
    from medbench.api.dataset import DatasetSpec


class FeatureStore(Protocol):
    """The harness's cache of features of real splits, shared by every run."""

    def get_or_compute(self, key: str, compute: Callable[[], torch.Tensor],
                       rows: int) -> torch.Tensor:
        """The tensor stored under `key`, computed (and stored) on a miss.

        `rows` is how many rows the tensor must have; an entry that fails its checksum or
        has another row count is recomputed, never used.
        """
        ...


@dataclass
class EvalContext:
    """What the harness gives a task and its metrics for scoring."""

    device: torch.device
    seed: int
    num_samples: int  # how many predictions the budget asks for (synthesis: images to draw)
    data: DataInfo  # the dataset's full metadata at the run's image size
    split_keys: dict[str, str]  # split -> id of its content at this size, for cache keys
    features: FeatureStore
    progress: Progress = field(default_factory=SilentProgress)

    def generator(self, stream: str) -> torch.Generator:
        """A CPU generator for one named purpose, derived from the run's seed."""
        return derived_generator(self.seed, stream)


class EvalSplits:
    """All three splits, for the task alone: it decides what the method and metrics see.

    The harness loads the test split when `test` is first read, so a task that asks its
    method for predictions before reading `test` keeps the test split out of the process
    while the method's code runs: synthesis samples first, and the other tasks ask on
    `test_inputs(...)`, the input fields alone.
    """

    def __init__(self, train: Split, val: Split, test: Split | Callable[[], Split]) -> None:
        self.train, self.val = train, val
        self._test = test

    @property
    def test(self) -> Split:
        if not isinstance(self._test, Split):
            self._test = self._test()
        return self._test

    def test_inputs(self, *fields: str) -> Split:
        """Only `fields` of the test split: what the method answers on (sources, images).
        Ask the method with these, then read `test` for the truth: until then the truth
        (targets, masks, labels) is not in the process while the method's code runs."""
        if isinstance(self._test, Split):
            return self._test.select(*fields)
        return self._test().select(*fields)  # the other fields are freed on return


@dataclass(frozen=True)
class Panel:
    """A small figure of a run's predictions on fixed cases, kept inside its record (as an
    8-bit PNG), so that leaderboards and reports show it without the run folder.

    Show the same cases for every method (e.g. the first test cases, or the first of each
    class), at the run's image size, and say in `caption` what the rows and columns are.
    """

    images: torch.Tensor  # (rows * columns, C, H, W) in [0, 1], row by row; C is 1 or 3
    columns: int
    caption: str  # e.g. "rows: test cases 0-5; columns: input | prediction | target"


@dataclass
class Predictions:
    """What `Task.evaluate` returns."""

    inputs: MetricInputs  # what the metrics read; an instance of the task's `inputs`
    preview: torch.Tensor | None = None  # (N, C, H, W) in [0, 1] for the run's sample grid
    predict_seconds: float | None = None  # time the method spent predicting
    panel: Panel | None = None  # the fixed-case figure for the record and the reports


class Task(ABC):
    """A benchmark task.

    Subclasses set `name`, `version` (bump it when scores stop being comparable), `summary`,
    `default_dataset`, `required_fields` (dataset fields it needs), `method_protocol` (the API
    base class a method must subclass to be offered this task) and `inputs` (the
    MetricInputs subclass that `evaluate` returns; metrics that read it score this task).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str]
    default_dataset: ClassVar[str]
    required_fields: ClassVar[tuple[str, ...]] = ("image",)
    method_protocol: ClassVar[type[Method]] = Method
    inputs: ClassVar[type[MetricInputs]] = MetricInputs
    # Budget sizes that differ for this task at a named budget, e.g.
    # ``{"smoke": {"image_size": 64, "train_images": 8000}}``: every method on the task
    # gets the same, and the record holds the resolved budget.
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {}
    # The metric that ranks methods on leaderboards (its direction comes from the metric).
    # None: leaderboards rank by the first metric in name order, and say so.
    primary_metric: ClassVar[str | None] = None

    def method_problem(self, method_cls: type[Method]) -> str | None:
        """Why a method of the right protocol still cannot run this task, or None (e.g. a
        method that needs pairs on an unpaired task). Checked before a run starts."""
        return None

    def dataset_problem(self, dataset: DatasetSpec) -> str | None:
        """Why `dataset` cannot serve this task, or None. Checked before a run starts."""
        missing = [name for name in self.required_fields if name not in dataset.field_names]
        if missing:
            return f"lacks field(s) {', '.join(missing)}"
        return None

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """What the method's `fit` receives; the default is both splits unchanged.

        Filter (normal images only), subsample (a data-scarce arm), unpair or withhold fields
        here: the harness enforces that the method gets exactly this. `generator` is derived
        from the run's seed for any random choice; `method_cls` is the method to be trained
        (e.g. an unpaired method gets unpaired data on any task).
        """
        return train, val

    def prepare_method(self, method_cls: type[Method], config: Any, data: DataInfo,
                       device: torch.device, needs: frozenset[str]) -> Method:
        """The method instance to train and evaluate; the harness has seeded torch.

        The default builds `method_cls`. A task may adapt it to what the run's metrics
        `needs` (the union of their `Metric.needs`), e.g. one instance per class when a
        metric needs labelled images of an unconditional synthesis method; an adapted
        instance says how in its `adaptation`.
        """
        return method_cls(config, data, device)

    @abstractmethod
    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext,
                 ) -> Predictions:
        """Ask the trained method for its predictions and bundle what the metrics read.

        Only the task sees all three splits. Give the method nothing of the test split
        beyond what the protocol asks (e.g. the test inputs of an image-to-image task,
        never its targets).
        """
