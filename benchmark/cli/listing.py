"""`medbench list`: what the installed plugins registered."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer
from rich.table import Table

from medbench.cli.common import console, host_from, user_errors


class Kind(str, Enum):
    methods = "methods"
    tasks = "tasks"
    datasets = "datasets"
    metrics = "metrics"


def list_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="What to list.")],
) -> None:
    """List registered methods, tasks, datasets or metrics, and what each supports."""
    with user_errors():
        registries = host_from(ctx).registries
        if kind is Kind.methods:
            table = Table("method", "tasks", "conditional", "summary", "plugin")
            for entry in registries.methods.entries():
                cls = entry.value
                table.add_row(entry.name, ", ".join(cls.tasks), "yes" if cls.conditional else "no",
                              cls.summary, str(entry.origin))
        elif kind is Kind.tasks:
            table = Table("task", "kind", "version", "default dataset", "methods", "summary")
            for entry in registries.tasks.entries():
                task = entry.value
                methods = [m.name for m in registries.methods if task.name in m.tasks]
                table.add_row(entry.name, task.kind, task.version, task.default_dataset,
                              ", ".join(methods), task.summary)
        elif kind is Kind.datasets:
            table = Table("dataset", "version", "modality", "fields", "splits", "summary")
            for entry in registries.datasets.entries():
                dataset = entry.value
                try:
                    sizes = ", ".join(f"{name} {split.size}"
                                      for name, split in dataset.manifest().items())
                except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the rest
                    sizes = f"manifest unreadable: {type(exc).__name__}"
                table.add_row(entry.name, dataset.version, dataset.modality,
                              ", ".join(dataset.fields), sizes, dataset.summary)
        else:
            table = Table("metric", "tasks", "better", "units", "summary")
            for entry in registries.metrics.entries():
                metric = entry.value
                table.add_row(entry.name, ", ".join(metric.task_kinds),
                              "higher" if metric.higher_is_better else "lower", metric.units,
                              metric.summary)
        console.print(table)
