"""`medbench run` and `medbench rerun`: one benchmark run with progress and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medbench.cli.common import console, err_console, host_from, user_errors
from medbench.errors import ConfigError
from medbench.progress import RichProgress
from medbench.record.schema import RECORD_FILENAME, read_record
from medbench.run.budgets import BUDGETS, DEFAULT_BUDGET
from medbench.run.overrides import parse_assignments
from medbench.run.runner import RunOutcome, RunRequest, execute, plan_run

EXIT_CODES = {"ok": 0, "failed": 1, "diverged": 3}


def run_command(
    ctx: typer.Context,
    method: Annotated[str, typer.Option("--method", "-m", help="Method name, see `medbench list methods`.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task name, see `medbench list tasks`.")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name; default: the task's default dataset.")] = None,
    budget: Annotated[str, typer.Option(help=f"Compute budget: {', '.join(BUDGETS)}.")] = DEFAULT_BUDGET,
    seed: Annotated[int, typer.Option(help="The run's seed; every random stream derives from it.")] = 0,
    device: Annotated[str, typer.Option(help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.", envvar="MEDBENCH_DEVICE")] = "auto",
    out: Annotated[Path, typer.Option(help="Folder that receives the run folder.", envvar="MEDBENCH_OUT")] = Path("runs"),
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a method setting: key=value. Repeatable.")] = None,
    inception_weights: Annotated[Path | None, typer.Option(help="pytorch-fid InceptionV3 weights file, if not in the torch hub cache.", envvar="MEDBENCH_INCEPTION_WEIGHTS")] = None,
) -> None:
    """Train a method on a task's train split and score it on the held-out test split."""
    with user_errors():
        request = RunRequest(
            method=method, task=task, dataset=dataset, budget=budget, seed=seed, device=device,
            out_dir=out, overrides=parse_assignments(set_ or []),
            eval_options={"inception_weights": str(inception_weights)} if inception_weights else {},
        )
        outcome = _run(ctx, request)
    raise typer.Exit(EXIT_CODES[outcome.record.status.state])


def rerun_command(
    ctx: typer.Context,
    record: Annotated[Path, typer.Argument(help="A record.json, or the run folder holding it.")],
    out: Annotated[Path, typer.Option(help="Folder that receives the new run folder.")] = Path("runs"),
) -> None:
    """Run again exactly what a result record describes."""
    with user_errors():
        path = record / RECORD_FILENAME if record.is_dir() else record
        try:
            config = read_record(path)["config"]
            request = RunRequest(
                method=config["method"], task=config["task"], dataset=config["dataset"],
                budget=config["budget"], seed=int(config["seed"]), device=config["device"],
                out_dir=out, overrides=dict(config["overrides"]),
                eval_options=dict(config["eval_options"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"Cannot read a run configuration from {path}: {exc}") from None
        outcome = _run(ctx, request)
    raise typer.Exit(EXIT_CODES[outcome.record.status.state])


def _run(ctx: typer.Context, request: RunRequest) -> RunOutcome:
    host = host_from(ctx)
    plan = plan_run(request, host.registries)
    console.print(
        f"[bold]medbench run[/] method=[cyan]{plan.method_cls.name}[/] task=[cyan]{plan.task.name}[/] "
        f"dataset=[cyan]{plan.dataset.name}[/] budget=[cyan]{plan.budget.name}[/] "
        f"({plan.budget.image_size}px, {plan.budget.train_images:,} training images) "
        f"seed={request.seed} device=[cyan]{plan.device}[/]",
        highlight=False,
    )
    outcome = execute(plan, host.registries, RichProgress(console))
    _summarise(outcome)
    return outcome


def _summarise(outcome: RunOutcome) -> None:
    record = outcome.record
    if record.metrics:
        table = Table("metric", "value", "better", "n (real / generated)", "note",
                      title=f"{record.method.name} on {record.task.name} / {record.dataset.name}")
        for name, metric in record.metrics.items():
            value = "—" if metric.value is None else f"{metric.value:.4g}"
            samples = " / ".join(str(n) for n in metric.n_samples.values()) or "—"
            note = metric.status if metric.status != "ok" else ""
            if "std_over_subsets" in metric.details:
                note = f"± {metric.details['std_over_subsets']:.2g} over subsets"
            table.add_row(name, value, "↑" if metric.higher_is_better else "↓", samples, note)
        console.print(table)
    for notice in outcome.notices:
        err_console.print(f"[yellow]Notice:[/] {notice}", highlight=False, soft_wrap=True)
    status = record.status
    folder = outcome.folder
    if status.state == "ok":
        console.print(f"[green]ok[/] in {record.timings.total_seconds:.0f}s. "
                      f"Record: {folder / RECORD_FILENAME}", highlight=False, soft_wrap=True)
        if "samples" in record.artifacts:
            console.print(f"Samples: {folder / record.artifacts['samples']}", highlight=False,
                          soft_wrap=True)
    else:
        err_console.print(f"[bold red]{status.state}:[/] {status.reason}. "
                          f"Record: {folder / RECORD_FILENAME}", highlight=False, soft_wrap=True)
