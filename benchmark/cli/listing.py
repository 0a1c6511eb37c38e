"""`medbench list`: what the installed plugins registered, and `medbench card`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.markdown import Markdown

from medbench.api.errors import MedbenchError
from medbench.cli.common import console, host_from, user_errors
from medbench.cli.output import Cell, Column, JsonOption, emit
from medbench.run.options import option_fields
from medbench.run.runner import supported_tasks
from medbench.run.scoring import applicable_metrics


class Kind(str, Enum):
    methods = "methods"
    tasks = "tasks"
    datasets = "datasets"
    metrics = "metrics"
    reporters = "reporters"
    spaces = "spaces"


def list_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(metavar="KIND", help="What to list: methods, tasks, datasets, metrics, reporters or spaces.", show_choices=False)],
    as_json: JsonOption = False,
) -> None:
    """List registered methods, tasks, datasets, metrics, reporters (leaderboard formats) or
    feature spaces (where distance metrics compare images)."""
    with user_errors():
        registries = host_from(ctx).registries
        tasks = list(registries.tasks)
        rows: list[list[Cell]] = []
        if kind is Kind.methods:
            columns = [Column("method", names=True), Column("tasks", names=True),
                       Column("summary", drop=2), Column("card", drop=3),
                       Column("distribution", names=True, drop=4)]
            for entry in registries.methods.entries():
                cls = entry.value
                rows.append([entry.name, supported_tasks(cls, tasks) or "none installed", cls.summary,
                             "yes" if cls.card() else "missing",
                             entry.origin.distribution or entry.origin.plugin])
        elif kind is Kind.tasks:
            columns = [Column("task", names=True), Column("version", drop=3),
                       Column("methods implement", names=True, drop=4),
                       Column("default dataset", names=True), Column("methods", names=True),
                       Column("primary metric", names=True, drop=2),
                       Column("default metrics", names=True, drop=5),
                       Column("summary", drop=6)]
            for entry in registries.tasks.entries():
                task = entry.value
                methods = [m.name for m in registries.methods
                           if entry.name in supported_tasks(m, [task])]
                metrics = [m.name for m in applicable_metrics(task, registries.metrics)
                           if m.default]
                rows.append([entry.name, task.version, task.method_protocol.__name__,
                             task.default_dataset, methods, task.primary_metric, metrics,
                             task.summary])
        elif kind is Kind.datasets:
            columns = [Column("dataset", names=True), Column("version", drop=2),
                       Column("modality", drop=3), Column("fields", drop=4),
                       Column("splits", drop=5), Column("summary", drop=1)]
            for entry in registries.datasets.entries():
                dataset = entry.value
                try:
                    sizes = ", ".join(f"{name} {split.size}"
                                      for name, split in dataset.manifest().items()) \
                        or "known once decoded"
                except Exception as exc:  # one broken plugin must not hide the rest
                    sizes = f"manifest unreadable: {type(exc).__name__}"
                fields = ", ".join(f"{f.name} ({f.kind})" for f in dataset.fields)
                rows.append([entry.name, dataset.version, dataset.modality, fields, sizes,
                             dataset.summary])
        elif kind is Kind.reporters:
            columns = [Column("reporter", names=True), Column("file suffix"),
                       Column("summary", drop=1),
                       Column("distribution", names=True, drop=2)]
            for entry in registries.reporters.entries():
                reporter = entry.value
                rows.append([entry.name, reporter.suffix, reporter.summary,
                             entry.origin.distribution or entry.origin.plugin])
        elif kind is Kind.spaces:
            columns = [Column("space", names=True), Column("default"),
                       Column("weights", names=True, drop=2),
                       Column("options", names=True, drop=3), Column("summary", drop=1),
                       Column("distribution", names=True, drop=4)]
            for entry in registries.feature_spaces.entries():
                space = entry.value
                weights = [w.name for w in space.weights(space.Options())] or \
                    ("given by path" if option_fields(space.Options) else "none needed")
                rows.append([entry.name, "yes" if space.default else "no", weights,
                             option_fields(space.Options), space.summary,
                             entry.origin.distribution or entry.origin.plugin])
        else:
            columns = [Column("metric", names=True), Column("reads", names=True, drop=5),
                       Column("better"), Column("units", drop=3), Column("default"),
                       Column("cost", drop=4), Column("options", names=True, drop=6),
                       Column("summary", drop=2)]
            for entry in registries.metrics.entries():
                metric = entry.value
                rows.append([entry.name, metric.reads.__name__,
                             "higher" if metric.higher_is_better else "lower", metric.units,
                             "yes" if metric.default else "no", metric.cost,
                             option_fields(metric.Options), metric.summary])
        emit(columns, rows, as_json)


def card_command(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help="Method name, see `medbench list methods`.")],
) -> None:
    """Show a method's model card: paper, idea, settings, results."""
    with user_errors():
        entry = host_from(ctx).registries.methods.entry(method)
        card = entry.value.card()
        if card is None:
            raise MedbenchError(
                f"Method '{method}' ships no model card: {entry.origin} should include a "
                f"README.md beside the module that defines it, as package data.")
        console.print(Markdown(card))
