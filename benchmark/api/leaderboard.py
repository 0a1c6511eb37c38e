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
           "Reporter", "RowImage", "format_number", "safe_slug"]


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
    ci_low: float  # 95 % t-interval of the mean (Student's t, n - 1 df); nan with one seed
    ci_high: float
    per_seed: dict[int, float]  # seed -> value, the runs that gave a value

    @property
    def n(self) -> int:
        return len(self.per_seed)

    def seed_values(self, digits: int = 4) -> str:
        """Every seed's value, e.g. "seed 0: 0.52; seed 1: 0.61"."""
        return "; ".join(f"seed {seed}: {format_number(value, digits)}"
                         for seed, value in sorted(self.per_seed.items()))


@dataclass(frozen=True)
class Comparison:
    """A ranked method against the best one on the primary metric, paired by seed."""

    shared_seeds: int  # seeds where both have a value
    p_value: float | None  # two-sided paired t-test, uncorrected; None: not run
    significant: bool | None  # Holm-corrected p < alpha; None: not tested (< 2 shared seeds)
    p_holm: float | None = None  # p corrected with Holm's method over the table's tests


@dataclass(frozen=True)
class RowImage:
    """A row's fixed-case panel (from the record of its lowest seed), as a PNG."""

    png: bytes
    caption: str
    run_id: str
    seed: int


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
    run_ids: dict[int, str] = field(default_factory=dict)  # seed -> its newest counted run
    # seed -> every ok run whose values the row uses, oldest first (a later run with other
    # metrics adds columns; each metric comes from the newest run that has it)
    sources: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def best(self) -> bool:
        return self.rank == 1

    @property
    def tied_with_best(self) -> bool:
        """Not separated from the best by the Holm-corrected test (the best itself
        included): the seeds do not show it worse, which is not showing it as good."""
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
    # Why a pair of metrics has no tau (None in `agreement`), e.g. "dominated by ties".
    agreement_reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    interval: str = "95 % t-interval of the mean over seeds (Student's t, n − 1 df)"
    # What the table measured, for its header: data, sizes, budget, units, code version.
    provenance: dict[str, str] = field(default_factory=dict)
    # Per-class values where the records have them: metric -> class -> row label -> mean.
    per_class: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    images: dict[str, RowImage] = field(default_factory=dict)  # row label -> its panel

    def image_path(self, label: str) -> str:
        """Where `medbench leaderboard --out DIR` puts a row's panel, relative to DIR."""
        return f"images/{self.slug}/{safe_slug(label)}.png"

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
                "p_vs_best_holm": row.versus_best.p_holm if row.versus_best else None,
                "seeds": len(row.seeds), "failed": row.failed}
            for column in self.columns:
                value = row.metrics.get(column.name)
                for part in ("mean", "sd", "ci_low", "ci_high", "n"):
                    flat[f"{column.name}_{part}"] = getattr(value, part) if value else None
                flat[f"{column.name}_per_seed"] = ";".join(
                    f"{seed}:{number!r}" for seed, number in sorted(value.per_seed.items())
                ) if value else None
            flat.update({"train_seconds": row.train_seconds, "total_seconds": row.total_seconds,
                         "devices": "; ".join(row.devices), "versions": "; ".join(row.versions),
                         "run_ids": ";".join(f"{seed}:{'+'.join(ids)}" for seed, ids in
                                             sorted(row.sources.items()))})
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
