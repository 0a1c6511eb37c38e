"""What a metric plugin provides, and the nested result each metric writes to the record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


class MetricUnavailable(Exception):
    """Raised by a metric that cannot be computed here; the reason goes to the record."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class MetricResult:
    """One metric's outcome, nested in the result record under its name."""

    value: float | None  # the score; None when the metric is unavailable or failed
    higher_is_better: bool  # direction, so tables can rank without knowing the metric
    units: str  # e.g. "squared feature units", "dB", "fraction"
    range: tuple[float | None, float | None]  # (low, high) bounds; None means unbounded
    implementation: str  # library and function that computed it
    implementation_version: str  # version of that library
    metric_version: str  # medbench's version of this metric's definition
    n_samples: dict[str, int]  # images behind the value, e.g. {"real": 1500, "generated": 1500}
    status: Literal["ok", "unavailable", "failed"] = "ok"
    reason: str | None = None  # why the value is missing
    details: dict[str, Any] = field(default_factory=dict)  # extractor id, std over subsets...


class MetricSpec(ABC):
    """A registered metric. `task_kinds` names the tasks whose evaluation it joins."""

    name: str
    task_kinds: ClassVar[tuple[str, ...]]
    higher_is_better: ClassVar[bool]
    units: ClassVar[str]
    range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    metric_version: ClassVar[str] = "1"
    summary: str

    @property
    @abstractmethod
    def implementation(self) -> tuple[str, str]:
        """(what computes it, that library's version)."""

    @abstractmethod
    def compute(self, inputs: Any) -> tuple[float, dict[str, int], dict[str, Any]]:
        """Score one evaluation: (value, n_samples, details). Raise MetricUnavailable if it
        cannot be computed here. `inputs` is the task kind's evaluation inputs object."""

    def result(self, value: float | None, n_samples: dict[str, int], details: dict[str, Any],
               status: Literal["ok", "unavailable", "failed"] = "ok",
               reason: str | None = None) -> MetricResult:
        implementation, version = self.implementation
        return MetricResult(
            value=value, higher_is_better=self.higher_is_better, units=self.units,
            range=self.range, implementation=implementation, implementation_version=version,
            metric_version=self.metric_version, n_samples=n_samples, status=status,
            reason=reason, details=details,
        )
