"""What a metric plugin provides: a score of one evaluation, with its direction and units.

The harness, not the task, runs the metrics: it picks them (``--metrics`` or the defaults
of those that read the task's inputs), builds each one's options, calls `compute`, and
records ok / unavailable / failed with the reason, so one broken metric never loses the
others.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

if TYPE_CHECKING:
    from medbench.api.task import EvalContext
    from medbench.api.weights import PinnedWeights

T = TypeVar("T")
Cost = Literal["cheap", "moderate", "expensive"]
COSTS: dict[str, str] = {
    "cheap": "seconds per run on a CPU",
    "moderate": "about a minute per run on a CPU",
    "expensive": "trains a model or runs a large network: minutes per run on a CPU",
}


class MetricUnavailable(Exception):
    """Raised by a metric that cannot be computed here; the reason goes to the record."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class MetricInputs:
    """What a task hands its metrics after asking the method for predictions.

    Each task protocol defines a subclass (e.g. :class:`medbench.api.synthesis.SynthesisInputs`);
    a metric states the subclass it reads in `reads`, and is offered to every task whose
    inputs are of that type.
    """

    def __init__(self, context: EvalContext) -> None:
        self.context = context
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per evaluation, shared by every metric that asks for `key`.

        Several metrics often read one expensive result (precision, recall, density and
        coverage from one set of nearest-neighbour radii; three classifier scores from one
        training): the first to ask computes it. Put the options that change the result in
        `key`.
        """
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


@dataclass
class Score:
    """What `Metric.compute` returns."""

    value: float
    n_samples: dict[str, int]  # images behind the value, e.g. {"real": 1500, "generated": 1500}
    details: dict[str, Any] = field(default_factory=dict)  # extractor id, spread, ...
    # False when the value is valid but must not be ranked with others of this metric, e.g.
    # FID from unofficial weights; `caveat` says why. Leaderboards leave such values out.
    comparable: bool = True
    caveat: str | None = None


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """For metrics without options."""


class Metric(ABC):
    """A registered metric.

    Set `name`, `summary`, `reads`, `higher_is_better`, `units` (class or instance
    attributes), and optionally `range`, `Options` (a dataclass; its fields are set with
    ``--metric-option NAME.FIELD=VALUE`` and checked before the run starts), `default`
    (False: runs only when asked for with ``--metrics``), `cost` and `needs`.
    """

    name: str
    summary: str
    reads: ClassVar[type[MetricInputs]]
    higher_is_better: ClassVar[bool]
    units: ClassVar[str]
    range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    metric_version: ClassVar[str] = "1"
    Options: ClassVar[type] = NoOptions
    default: ClassVar[bool] = True
    cost: ClassVar[Cost] = "cheap"
    # What the metric needs of the predictions beyond the task's inputs, e.g. {"labels"}
    # for synthesis metrics that read labelled synthetic images. The task reads it before
    # training and may adapt an unconditional method (the per-class protocol).
    needs: ClassVar[frozenset[str]] = frozenset()

    @property
    @abstractmethod
    def implementation(self) -> tuple[str, str]:
        """(what computes it, that library's version)."""

    @abstractmethod
    def compute(self, inputs: Any, options: Any) -> Score:
        """Score one evaluation. `inputs` is an instance of `reads`, `options` of `Options`.

        Raise MetricUnavailable when it cannot be computed here (missing weights, say);
        any other exception records the metric as failed and the run as failed.
        """

    def weights(self, options: Any) -> tuple[PinnedWeights, ...]:
        """Pretrained weights `compute` reads with these options. The harness fetches them
        (verified, cached, unless offline) before training, so that a missing file costs a
        notice and this metric, never the trained model."""
        return ()
