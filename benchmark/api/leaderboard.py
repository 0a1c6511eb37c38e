"""Leaderboards as plain data, and the Reporter base class that renders them.

medbench aggregates result records into `Leaderboard` objects (one per task, dataset and
budget); a reporter turns a sequence of them into one document of its format. Markdown,
CSV, LaTeX and HTML ship as built-in reporter plugins; a plugin adds a format by
registering another `Reporter` through the `register_reporters` hook.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

__all__ = ["Aggregate", "Comparison", "Leaderboard", "LeaderboardRow", "MetricColumn",
           "Reporter", "format_number", "safe_slug"]


@dataclass(frozen=True)
class MetricColumn:
    name: str
    higher_is_better: bool

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"


@dataclass(frozen=True)
class Aggregate:
    """One metric of one method over its seeds."""

    mean: float
    sd: float  # sample standard deviation (ddof 1); nan with one seed
    ci_low: float  # 95 % percentile-bootstrap interval of the mean; nan with one seed
    ci_high: float
    per_seed: dict[int, float]  # seed -> value, the runs that gave a value

    @property
    def n(self) -> int:
        return len(self.per_seed)


@dataclass(frozen=True)
class Comparison:
    """A ranked method against the best one on the primary metric, paired by seed."""

    shared_seeds: int  # seeds where both have a value
    p_value: float | None  # two-sided paired t-test; None when it could not be run
    significant: bool | None  # p < alpha; None: not tested (fewer than 2 shared seeds)


@dataclass(frozen=True)
class LeaderboardRow:
    method: str
    label: str  # the method, plus any setting that differs from its defaults
    reference: bool  # a reference row (holdout, train-copy, identity): shown, never ranked
    rank: int | None  # 1 = best on the primary metric; None: reference or no value
    seeds: tuple[int, ...]  # seeds with an ok record
    failed: int  # runs of this row that failed or diverged (not in the aggregates)
    metrics: dict[str, Aggregate]
    versus_best: Comparison | None  # None for the best row, references and unranked rows
    train_seconds: float | None  # mean over seeds
    total_seconds: float | None  # mean over seeds: data, training, prediction, metrics
    devices: tuple[str, ...]  # e.g. "cpu (AMD EPYC, AVX512)"
    versions: tuple[str, ...]  # "distribution version" of the plugin, per record
    run_ids: dict[int, str] = field(default_factory=dict)  # seed -> the run that counts

    @property
    def best(self) -> bool:
        return self.rank == 1

    @property
    def tied_with_best(self) -> bool:
        """Not significantly different from the best (the best itself included)."""
        return self.best or (self.versus_best is not None
                             and self.versus_best.significant is False)


@dataclass(frozen=True)
class Leaderboard:
    """One comparable table: every method's runs of a task on a dataset at a budget."""

    task: str
    task_version: str
    dataset: str
    dataset_version: str
    budget: str
    primary: str  # the metric that ranks
    columns: tuple[MetricColumn, ...]  # primary first
    rows: tuple[LeaderboardRow, ...]  # ranked by rank, then unranked, then references
    agreement: dict[tuple[str, str], float | None] = field(default_factory=dict)  # Kendall tau
    agreement_methods: int = 0  # ranked methods the agreement is computed over
    alpha: float = 0.05
    notes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return (f"{self.task} {self.task_version} on {self.dataset} {self.dataset_version}, "
                f"budget {self.budget}")

    @property
    def slug(self) -> str:
        """A file name stem for this table, safe whatever the records call things."""
        return safe_slug(f"{self.task}--{self.dataset}--{self.budget}")

    @property
    def ranked(self) -> tuple[LeaderboardRow, ...]:
        return tuple(row for row in self.rows if not row.reference)

    @property
    def references(self) -> tuple[LeaderboardRow, ...]:
        return tuple(row for row in self.rows if row.reference)

    def column(self, name: str) -> MetricColumn:
        return next(column for column in self.columns if column.name == name)

    def to_frame(self) -> pd.DataFrame:
        """One flat row per method: the machine-readable form (CSV, notebooks)."""
        records = []
        for row in self.rows:
            flat: dict[str, object] = {
                "task": self.task, "task_version": self.task_version, "dataset": self.dataset,
                "dataset_version": self.dataset_version, "budget": self.budget,
                "method": row.label, "reference": row.reference, "rank": row.rank,
                "tied_with_best": None if row.reference or (
                    row.versus_best is not None and row.versus_best.significant is None)
                    else row.tied_with_best,
                "p_vs_best": row.versus_best.p_value if row.versus_best else None,
                "seeds": len(row.seeds), "failed": row.failed}
            for column in self.columns:
                value = row.metrics.get(column.name)
                for part in ("mean", "sd", "ci_low", "ci_high", "n"):
                    flat[f"{column.name}_{part}"] = getattr(value, part) if value else None
            flat.update({"train_seconds": row.train_seconds, "total_seconds": row.total_seconds,
                         "devices": "; ".join(row.devices), "versions": "; ".join(row.versions)})
            records.append(flat)
        return pd.DataFrame(records)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_slug(text: str) -> str:
    """A file-name stem for any text (no slash, no leading dot); text that had to change
    gets a hash suffix, so that two names never share a file."""
    slug = _UNSAFE.sub("-", text).strip("-.")[:60]
    if slug != text or not slug:
        slug = f"{slug or 'x'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return slug


def format_number(value: float | None, digits: int = 4) -> str:
    """`digits` significant digits, a true minus sign, and an em dash for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:.0f}" if abs(value) >= 10 ** digits else f"{value:.{digits}g}"
    return text.replace("-", "−")


class Reporter:
    """Renders leaderboards into one document of a format.

    Subclasses set `name` (what `--format` takes), `suffix` (the file ending, without the
    dot) and `summary`, and implement `render`. Escape every name and note for the format:
    they come from records, which anyone can write.
    """

    name: ClassVar[str]
    suffix: ClassVar[str]
    summary: ClassVar[str]

    def render(self, boards: Sequence[Leaderboard]) -> str:
        raise NotImplementedError
