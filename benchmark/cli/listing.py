"""`medbench list`: what the installed plugins registered, and `medbench card`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from medbench.api.errors import MedbenchError
from medbench.cli.common import console, host_from, user_errors
from medbench.run.options import option_fields
from medbench.run.runner import supported_tasks
from medbench.run.scoring import applicable_metrics


class Kind(str, Enum):
    methods = "methods"
    tasks = "tasks"
    datasets = "datasets"
    metrics = "metrics"
    reporters = "reporters"


def _row(*cells: object) -> list[str]:
    return [escape(str(cell)) for cell in cells]


def list_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="What to list.")],
) -> None:
    """List registered methods, tasks, datasets, metrics or reporters (leaderboard formats)."""
    with user_errors():
        registries = host_from(ctx).registries
        tasks = list(registries.tasks)
        if kind is Kind.methods:
            table = Table("method", "tasks", "summary", "card", "distribution")
            for entry in registries.methods.entries():
                cls = entry.value
                runs = ", ".join(supported_tasks(cls, tasks)) or "none installed"
                table.add_row(*_row(entry.name, runs, cls.summary,
                                    "yes" if cls.card() else "missing",
                                    entry.origin.distribution or entry.origin.plugin))
        elif kind is Kind.tasks:
            table = Table("task", "version", "methods implement", "default dataset",
                          "methods", "primary metric", "default metrics", "summary")
            for entry in registries.tasks.entries():
                task = entry.value
                methods = [m.name for m in registries.methods
                           if entry.name in supported_tasks(m, [task])]
                metrics = [m.name for m in applicable_metrics(task, registries.metrics)
                           if m.default]
                table.add_row(*_row(entry.name, task.version, task.method_protocol.__name__,
                                    task.default_dataset, ", ".join(methods),
                                    task.primary_metric or "-", ", ".join(metrics),
                                    task.summary))
        elif kind is Kind.datasets:
            table = Table("dataset", "version", "modality", "fields", "splits", "summary")
            for entry in registries.datasets.entries():
                dataset = entry.value
                try:
                    sizes = ", ".join(f"{name} {split.size}"
                                      for name, split in dataset.manifest().items()) \
                        or "known once decoded"
                except Exception as exc:  # one broken plugin must not hide the rest
                    sizes = f"manifest unreadable: {type(exc).__name__}"
                fields = ", ".join(f"{f.name} ({f.kind})" for f in dataset.fields)
                table.add_row(*_row(entry.name, dataset.version, dataset.modality, fields,
                                    sizes, dataset.summary))
        elif kind is Kind.reporters:
            table = Table("reporter", "file suffix", "summary", "distribution")
            for entry in registries.reporters.entries():
                reporter = entry.value
                table.add_row(*_row(entry.name, reporter.suffix, reporter.summary,
                                    entry.origin.distribution or entry.origin.plugin))
        else:
            table = Table("metric", "reads", "better", "units", "default", "cost", "options",
                          "summary")
            for entry in registries.metrics.entries():
                metric = entry.value
                table.add_row(*_row(entry.name, metric.reads.__name__,
                                    "higher" if metric.higher_is_better else "lower",
                                    metric.units, "yes" if metric.default else "no",
                                    metric.cost, ", ".join(option_fields(metric.Options)) or "-",
                                    metric.summary))
        console.print(table)


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
