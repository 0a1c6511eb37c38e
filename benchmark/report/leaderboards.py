"""Result records -> leaderboards: one per task (version), dataset (version) and budget.

A row is a method with its settings (a run with `--set` overrides, a train fraction or a
task's adaptation such as the per-class protocol is its own row). Per seed, every ok record
of the row counts, each metric taken from the newest record that has it: a later run of the
same seed with other metrics adds columns instead of hiding them. Seeds whose runs only
failed or diverged are counted apart. Reference methods are shown, never ranked.
Interrupted runs are ignored.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from medbench.api.leaderboard import Leaderboard, LeaderboardRow, MetricColumn, RowImage
from medbench.record.schema import Environment, MetricResult, ResultRecord
from medbench.report.statistics import (
    ALPHA,
    INTERVAL_KIND,
    aggregate,
    holm,
    kendall_tau,
    versus_best,
)

COUNTED = ("ok", "failed", "diverged")
GroupKey = tuple[str, str, str, str, str]  # task, task version, dataset, its version, budget


@dataclass(frozen=True)
class Selection:
    """Which tables to build; None selects all."""

    task: str | None = None
    dataset: str | None = None
    budget: str | None = None
    # Values a record marks `comparable: false` (e.g. FID from unofficial Inception weights)
    # are left out of the aggregates, with a note, unless this is set.
    include_incomparable: bool = False

    def admits(self, record: ResultRecord) -> bool:
        return ((self.task is None or record.task.name == self.task)
                and (self.dataset is None or record.dataset.name == self.dataset)
                and (self.budget is None or record.config.budget == self.budget))


def typed(record: ResultRecord | Mapping[str, Any]) -> ResultRecord:
    """A record as read from JSON, typed (ResultRecord.from_dict); typed ones pass."""
    return record if isinstance(record, ResultRecord) else ResultRecord.from_dict(record)


def build_leaderboards(records: Iterable[ResultRecord | Mapping[str, Any]],
                       primary_metrics: dict[str, str],
                       selection: Selection = Selection(),
                       datasets: dict[str, dict[str, str]] | None = None,
                       ) -> list[Leaderboard]:
    """Every table the records make, in (task, dataset, budget) order. `primary_metrics`
    maps task name -> the metric that ranks it (from the installed tasks); `datasets` maps
    dataset name -> what the installed plugin says of it ("data", "card"), for records
    older than schema 2.5, which do not say whether their data are synthetic."""
    groups: dict[GroupKey, list[ResultRecord]] = defaultdict(list)
    for record in map(typed, records):
        if record.status.state in COUNTED and selection.admits(record):
            groups[_group_key(record)].append(record)
    return [_leaderboard(key, groups[key], primary_metrics.get(key[0]),
                         selection.include_incomparable, (datasets or {}).get(key[2], {}))
            for key in sorted(groups)]


def _group_key(record: ResultRecord) -> GroupKey:
    return (record.task.name, str(record.task.version), record.dataset.name,
            str(record.dataset.version), record.config.budget)


TEST_COPIES = "test copies"


def copies_test_images(record: ResultRecord) -> bool:
    """The run's test-leakage audit (metric test_copies) flagged its images as near-copies of
    the test set: its values measure the test images, not the method."""
    audit = record.metrics.get("test_copies")
    return audit is not None and audit.status == "ok" and audit.details.get("flagged") is True


def row_label(record: ResultRecord | Mapping[str, Any]) -> str:
    """The method, plus every setting of the run that is not its default."""
    record = typed(record)
    config = record.config
    settings = [f"{key}={value}" for key, value in sorted(config.overrides.items())]
    if config.train_fraction != 1.0:
        settings.append(f"train_fraction={config.train_fraction}")
    if config.precision != "32":  # never averaged with float32 runs
        settings.append(f"precision={config.precision}")
    if config.compile:  # compiled kernels round differently: their own row
        settings.append("compile")
    if record.dataset.verified is False:  # never averaged with the official files
        settings.append("unverified")
    adaptation = record.method.adaptation
    if adaptation:  # e.g. the per-class protocol: another model than the method as is
        settings.append(str(adaptation).split(":")[0])
    if copies_test_images(record):  # never averaged with, or ranked among, honest runs
        settings.append(TEST_COPIES)
    name = record.method.name
    return f"{name} ({', '.join(settings)})" if settings else name


def _leaderboard(key: GroupKey, records: list[ResultRecord], primary: str | None,
                 include_incomparable: bool, dataset_info: dict[str, str]) -> Leaderboard:
    task, task_version, dataset, dataset_version, budget = key
    records = sorted(records, key=lambda r: (r.created_at, r.run_id))
    by_row: dict[str, list[ResultRecord]] = defaultdict(list)
    for record in records:
        by_row[row_label(record)].append(record)
    latest_ok = {label: _ok_per_seed(rows) for label, rows in by_row.items()}
    columns, notes = _columns(latest_ok, include_incomparable)
    names = [column.name for column in columns]
    if primary is None and names:
        primary = names[0]
        notes.append(f"task '{task}' names no primary metric here (is it installed?); "
                     f"ranked by {primary}, the first metric by name")
    if primary is not None and primary not in names:
        notes.append(f"no run has a value of the primary metric {primary}; nothing is ranked")
        primary_column = None
    else:
        columns = sorted(columns, key=lambda c: (c.name != primary, c.name))
        primary_column = columns[0] if columns else None
    rows = [_row(label, by_row[label], latest_ok[label], columns, include_incomparable)
            for label in by_row]
    rows = _ranked(rows, primary_column,
                   {row_label(record) for record in records if copies_test_images(record)})
    ranked = [row for row in rows if not row.reference and row.rank is not None]
    agreement, reasons = _agreement(ranked, columns)
    notes += _provenance_notes(records)
    if any(copies_test_images(record) for record in records):
        notes.append(f"rows marked '{TEST_COPIES}' generated near-copies of test images (the "
                     f"test_copies audit flagged them): their values measure the test set, "
                     f"not the method, so they are not ranked")
    counted = [record for per_seed in latest_ok.values() for seed_records in per_seed.values()
               for record in seed_records]
    return Leaderboard(task, task_version, dataset, dataset_version, budget,
                       primary_column.name if primary_column else (primary or ""),
                       tuple(columns), tuple(rows), agreement, len(ranked), ALPHA, tuple(notes),
                       agreement_reasons=reasons, interval=INTERVAL_KIND,
                       provenance=provenance(counted or records, columns, primary_column,
                                             dataset_info),
                       per_class=_per_class(latest_ok, columns, include_incomparable),
                       images=_images(latest_ok))


def _images(latest_ok: dict[str, SeedRecords]) -> dict[str, RowImage]:
    """Each row's panel from its lowest seed (the newest record of it that has one)."""
    images = {}
    for label, per_seed in latest_ok.items():
        for seed in sorted(per_seed):
            found = next((r for r in reversed(per_seed[seed])
                          if isinstance(r.images.get("panel"), dict)), None)
            if found is None:
                continue
            panel = found.images["panel"]
            try:
                png = base64.b64decode(str(panel.get("png_base64", "")), validate=True)
            except (binascii.Error, ValueError):
                continue
            images[label] = RowImage(png, str(panel.get("caption", "")),
                                     str(found.run_id), seed)
            break
    return images


SeedRecords = dict[int, list[ResultRecord]]  # seed -> its ok records, oldest first


def _ok_per_seed(records: list[ResultRecord]) -> SeedRecords:
    chosen: SeedRecords = defaultdict(list)
    for record in records:  # oldest first
        if record.status.state == "ok":
            chosen[int(record.config.seed)].append(record)
    return dict(chosen)


def newest_result(records: list[ResultRecord], name: str,
                  include_incomparable: bool) -> MetricResult | None:
    """Metric `name` from the newest of `records` (oldest first) with a usable value."""
    for record in reversed(records):
        result = record.metrics.get(name)
        if result is not None and usable(result, include_incomparable):
            return result
    return None


def usable(result: MetricResult, include_incomparable: bool) -> bool:
    """A metric result that enters the aggregates."""
    return (result.status == "ok" and result.value is not None
            and (include_incomparable or result.comparable is not False))


_LOCAL_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[\w.~-]+[/\\])+[\w.~-]*")


def without_paths(text: str) -> str:
    """A reason as a table may publish it: what is missing, not where one machine looked
    (records made before the reasons stopped naming paths still hold them)."""
    return _LOCAL_PATH.sub("a local path", text)


def _columns(latest_ok: dict[str, SeedRecords], include_incomparable: bool,
             ) -> tuple[list[MetricColumn], list[str]]:
    """Metrics with a usable value in at least one counted ok run; a note for each without,
    and for each with values marked not comparable."""
    directions: dict[str, bool] = {}
    valued: set[str] = set()
    reasons: dict[str, str] = {}
    incomparable: dict[str, list[str]] = defaultdict(list)  # metric -> caveats
    for per_seed in latest_ok.values():
        for record in (r for seed_records in per_seed.values() for r in seed_records):
            for name, result in record.metrics.items():
                directions.setdefault(name, bool(result.higher_is_better))
                if result.status == "ok" and result.value is not None \
                        and result.comparable is False:
                    incomparable[name].append(str(result.caveat or "no caveat"))
                if usable(result, include_incomparable):
                    valued.add(name)
                elif result.reason:
                    reasons.setdefault(name, str(result.reason))
    missing: dict[str, list[str]] = defaultdict(list)  # reason -> metrics
    for name in sorted(set(directions) - valued):
        missing[reasons.get(name, "no reason recorded")].append(name)
    notes = [f"{', '.join(names)}: no value in any run ({without_paths(reason)})"
             for reason, names in sorted(missing.items(), key=lambda item: item[1])]
    for name, caveats in sorted(incomparable.items()):
        what = "included" if include_incomparable else \
            "left out (--include-incomparable keeps them)"
        notes.append(f"{name}: {len(caveats)} value(s) marked not comparable, {what}: "
                     f"{caveats[0]}")
    return [MetricColumn(name, directions[name]) for name in sorted(valued)], notes


def _row(label: str, records: list[ResultRecord], per_seed: SeedRecords,
         columns: list[MetricColumn], include_incomparable: bool) -> LeaderboardRow:
    failed_seeds = {int(r.config.seed) for r in records
                    if r.status.state in ("failed", "diverged")} - set(per_seed)
    metrics = {}
    for column in columns:
        values = {}
        for seed, seed_records in per_seed.items():
            result = newest_result(seed_records, column.name, include_incomparable)
            if result is not None:
                values[seed] = float(result.value)  # type: ignore[arg-type]
        if values:
            metrics[column.name] = aggregate(values)
    counted = [seed_records[-1] for seed_records in per_seed.values()]
    return LeaderboardRow(
        method=records[-1].method.name, label=label,
        reference=any(bool(r.method.reference) for r in records),
        rank=None, seeds=tuple(sorted(per_seed)), failed=len(failed_seeds), metrics=metrics,
        versus_best=None, train_seconds=_mean_timing(counted, "train_seconds"),
        total_seconds=_mean_timing(counted, "total_seconds"),
        devices=tuple(sorted({device_label(r.environment) for r in counted})),
        versions=tuple(sorted({f"{r.method.distribution or 'in-process'} "
                               f"{r.method.version or ''}".strip()
                               for r in counted})),
        run_ids={seed: str(seed_records[-1].run_id)
                 for seed, seed_records in per_seed.items()},
        sources={seed: tuple(str(r.run_id) for r in seed_records)
                 for seed, seed_records in per_seed.items()})


def device_label(environment: Environment) -> str:
    """What a run ran on, with what explains its numbers: the CPU and its vector units."""
    device = str(environment.device)
    if device != "cpu":
        return str(environment.device_name or device)
    details = [str(value) for value in (environment.cpu_model, environment.cpu_capability)
               if value]
    return f"cpu ({', '.join(details)})" if details else "cpu"


def _mean_timing(records: list[ResultRecord], name: str) -> float | None:
    values = [float(getattr(r.timings, name)) for r in records
              if isinstance(getattr(r.timings, name), (int, float))]
    return sum(values) / len(values) if values else None


def _ranked(rows: list[LeaderboardRow], primary: MetricColumn | None,
            copying: set[str]) -> list[LeaderboardRow]:
    """Ranked rows best first (ties in the mean: by label), then unranked (no value of the
    primary metric, or labels in `copying`: runs flagged as copying test images), then
    references; each ranked row compared with the best."""

    def score(row: LeaderboardRow) -> float:
        mean = row.metrics[primary.name].mean  # type: ignore[union-attr]
        return -mean if primary.higher_is_better else mean  # type: ignore[union-attr]

    candidates, unranked, references = [], [], []
    for row in sorted(rows, key=lambda row: row.label):
        if row.reference:
            references.append(row)
        elif row.label in copying:  # flagged by the test-leakage audit: never ranked
            unranked.append(row)
        elif primary is not None and primary.name in row.metrics:
            candidates.append(row)
        else:
            unranked.append(row)
    candidates.sort(key=score)  # stable: equal means stay in label order
    comparisons = []
    if primary is not None and candidates:
        best = candidates[0].metrics[primary.name].per_seed
        comparisons = holm([versus_best(best, row.metrics[primary.name].per_seed)
                            for row in candidates[1:]])
    result = [replace(row, rank=index + 1,
                      versus_best=comparisons[index - 1] if index > 0 else None)
              for index, row in enumerate(candidates)]
    return result + unranked + references


def _agreement(ranked: list[LeaderboardRow], columns: list[MetricColumn],
               ) -> tuple[dict[tuple[str, str], float | None], dict[tuple[str, str], str]]:
    """Kendall's tau between every two metrics' rankings of the ranked methods, each metric
    oriented so that higher is better: 1 = same order, -1 = reversed; where tau would mean
    nothing, None and the reason."""
    agreement: dict[tuple[str, str], float | None] = {}
    reasons: dict[tuple[str, str], str] = {}
    for first in columns:
        for second in columns:
            shared = [row for row in ranked
                      if first.name in row.metrics and second.name in row.metrics]
            tau, reason = kendall_tau([_oriented(row, first) for row in shared],
                                      [_oriented(row, second) for row in shared])
            agreement[(first.name, second.name)] = tau
            if reason is not None:
                reasons[(first.name, second.name)] = reason
    return agreement, reasons


PER_CLASS_KEYS = ("per_class", "per_kind")  # details that hold one value per class


def _per_class(latest_ok: dict[str, SeedRecords], columns: list[MetricColumn],
               include_incomparable: bool) -> dict[str, dict[str, dict[str, float]]]:
    """metric -> class -> row label -> mean over seeds, from the details that the records
    already hold (Dice per organ, AUROC per lesion kind)."""
    table: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for label, per_seed in latest_ok.items():
        for seed_records in per_seed.values():
            for column in columns:
                result = newest_result(seed_records, column.name, include_incomparable)
                details = result.details if result is not None else {}
                values = next((details[key] for key in PER_CLASS_KEYS
                               if isinstance(details.get(key), dict)), {})
                for name, value in values.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        table[column.name][str(name)][label].append(float(value))
    return {metric: {name: {label: sum(v) / len(v) for label, v in by_label.items()}
                     for name, by_label in sorted(classes.items())}
            for metric, classes in sorted(table.items()) if len(classes) > 1}


SMOKE_MEANING = ("checks that methods work at small compute; not a ranking of what they "
                 "reach with a GPU budget")


def provenance(records: list[ResultRecord], columns: list[MetricColumn],
               primary: MetricColumn | None, dataset_info: dict[str, str]) -> dict[str, str]:
    """What a table measured, in words: the header every format shows above it."""
    dataset = records[-1].dataset
    synthetic = dataset.synthetic
    data = dataset_info.get("data") if synthetic is None else (
        "synthetic phantom (generated; no patient data)" if synthetic else "patient data")
    budget = records[-1].budget or {}
    seen: dict[int, set[str]] = defaultdict(set)  # images seen -> methods
    for r in records:
        value = r.training.images_seen if r.training is not None else None
        if isinstance(value, int):
            seen[value].add(str(r.method.name))
    evaluation = sorted({", ".join(f"{k} {v}" for k, v in sorted(
        r.metrics[primary.name].n_samples.items()))
        for r in records if primary is not None and primary.name in r.metrics
        and r.metrics[primary.name].n_samples})
    units = {}
    for column in columns:
        unit = next((str(r.metrics[column.name].units) for r in reversed(records)
                     if column.name in r.metrics and r.metrics[column.name].units), None)
        if unit:
            units[column.name] = unit
    spaces: dict[str, set[str]] = defaultdict(set)  # extractor id -> metrics computed in it
    studies: dict[str, int] = {}  # reader study -> readers
    for r in records:
        for column in columns:
            result = r.metrics.get(column.name)
            if result is None or result.status != "ok":
                continue
            if result.details.get("extractor"):
                spaces[str(result.details["extractor"])].add(column.name)
            if column.name.startswith("reader_") and result.details.get("study"):
                studies[str(result.details["study"])[:12]] = \
                    int(result.n_samples.get("readers", 0))
    commits = sorted({str(r.environment.git_commit or "unknown")[:12] for r in records})
    dirty = any(r.environment.git_dirty for r in records)
    meaning = str(budget.get("intended_for") or "")
    if budget.get("name") == "smoke":
        meaning = SMOKE_MEANING
    facts = {
        "data": data or "not stated by the records or an installed plugin",
        "dataset card": dataset_info.get("card", "not installed here"),
        "image size": f"{dataset.image_size} px",
        "images seen": (f"budget {budget['train_images']:,} per run"
                        if budget.get("train_images") else "budget unknown")
        + ("; seen: " + "; ".join(f"{n:,} ({', '.join(sorted(methods))})"
                                  for n, methods in sorted(seen.items(), reverse=True))
           if seen else ""),
        "evaluation n": "; ".join(evaluation) if evaluation else
        f"{budget.get('eval_samples', '?')} test samples",
        "units": "; ".join(f"{name}: {unit}" for name, unit in units.items()),
        "feature spaces": "; ".join(f"{extractor} ({', '.join(sorted(names))})"
                                    for extractor, names in sorted(spaces.items())),
        "reader studies": "; ".join(f"{study} ({readers} readers)"
                                    for study, readers in sorted(studies.items())),
        "budget": f"{budget.get('name', '?')}: {meaning}",
        "code": f"medbench commit {', '.join(commits)}"
                + (" (uncommitted changes in the tree)" if dirty else " (clean tree)"),
    }
    return facts


def _oriented(row: LeaderboardRow, column: MetricColumn) -> float:
    mean = row.metrics[column.name].mean
    return mean if column.higher_is_better else -mean


def _provenance_notes(records: list[ResultRecord]) -> list[str]:
    notes = []
    machines = sorted({device_label(r.environment) for r in records
                       if r.status.state == "ok"})
    if len(machines) > 1:
        notes.append(f"runs come from {len(machines)} kinds of device ({'; '.join(machines)}); "
                     f"training is reproducible on one machine, not across machines")
    versions = sorted({str(r.environment.torch_version) for r in records})
    if len(versions) > 1:
        notes.append(f"runs used torch {', '.join(versions)}")
    restricted = sorted({str(r.dataset.licence) for r in records if r.dataset.noncommercial})
    if restricted:
        notes.append(f"the data are under a non-commercial licence ({', '.join(restricted)}): "
                     f"these results and the models behind them may not be used commercially")
    if any(r.dataset.verified is False for r in records):
        notes.append("rows marked unverified ran on dataset files that failed their published "
                     "checksum (--allow-unverified): not the official data")
    return notes
