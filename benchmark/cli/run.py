"""`medbench run`, `rerun` and `evaluate`: one benchmark run with progress and a summary."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError
from medbench.cli.common import (
    CheckpointEveryOption,
    CompileOption,
    OfflineOption,
    PrecisionOption,
    TimeLimitOption,
    check_time_limit,
    comma_list,
    console,
    err_console,
    host_from,
    user_errors,
)
from medbench.cli.output import Cell, Column, emit
from medbench.cli.progress import RichProgress
from medbench.record.schema import RECORD_FILENAME, read_record
from medbench.record.spec import ALL_METRICS, RunSpec
from medbench.run.artifacts import CHECKPOINT
from medbench.run.budgets import BUDGETS, DEFAULT_BUDGET
from medbench.run.liveness import settle_and_store, settle_if_orphaned
from medbench.run.options import parse_assignments, parse_metric_options
from medbench.run.runner import RunInterrupted, RunOutcome, execute, plan_run
from medbench.store.validation import RecordRejected, check_dataset

EXIT_CODES = {"ok": 0, "failed": 1, "diverged": 3, "interrupted": 130}

MetricsOption = Annotated[str | None, typer.Option("--metrics", help="Comma-separated metrics to compute; default: the task's default metrics (see `medbench list metrics`).")]
MetricOptionOption = Annotated[list[str] | None, typer.Option("--metric-option", help="A metric's option: METRIC.KEY=VALUE (METRIC may be * for every selected metric with that option). Repeatable.")]
InceptionOption = Annotated[Path | None, typer.Option(help="Shortcut for --metric-option '*.inception_weights=PATH': pytorch-fid's InceptionV3 weights file, if not in the torch hub cache.", envvar="MEDBENCH_INCEPTION_WEIGHTS")]
OutOption = Annotated[str, typer.Option(help="Folder that receives the run folder.", envvar="MEDBENCH_OUT")]
DataDirOption = Annotated[Path | None, typer.Option(help="Folder searched first for a dataset's files (then $MEDBENCH_DATA, ~/.cache/medbench/data, the dataset's conventional folder).")]
AllowUnverifiedOption = Annotated[bool, typer.Option("--allow-unverified", help="Run on a dataset file whose checksum does not match its official release; records and leaderboards then say unverified.")]


def run_command(
    ctx: typer.Context,
    method: Annotated[str, typer.Option("--method", "-m", help="Method name, see `medbench list methods`.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task name, see `medbench list tasks`.")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name; default: the task's default dataset.")] = None,
    budget: Annotated[str, typer.Option(help=f"Compute budget: {', '.join(BUDGETS)}.")] = DEFAULT_BUDGET,
    seed: Annotated[int, typer.Option(help="The run's seed; every random stream derives from it.")] = 0,
    device: Annotated[str, typer.Option(help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.", envvar="MEDBENCH_DEVICE")] = "auto",
    train_fraction: Annotated[float, typer.Option(help="Low-data arm: the share of the train split the method learns from (seeded, stratified by label), in (0, 1].")] = 1.0,
    precision: PrecisionOption = "32",
    compile_: CompileOption = False,
    checkpoint_every: CheckpointEveryOption = None,
    time_limit: TimeLimitOption = None,
    out: OutOption = "runs",
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a method setting: key=value. Repeatable.")] = None,
    metrics: MetricsOption = None,
    metric_option: MetricOptionOption = None,
    inception_weights: InceptionOption = None,
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
    allow_unverified: AllowUnverifiedOption = False,
) -> None:
    """Train a method on a task's train split and score it on the held-out test split."""
    with user_errors():
        _not_empty(out=out)
        check_time_limit(time_limit)
        spec = RunSpec(
            method=method, task=task, dataset=dataset, budget=budget, seed=seed, device=device,
            overrides=parse_assignments(set_ or []), train_fraction=train_fraction,
            precision=precision, checkpoint_every=checkpoint_every, compile=compile_,
            metrics=comma_list(metrics, "--metrics"),
            metric_options=_metric_options(metric_option, inception_weights),
            allow_unverified=allow_unverified, time_limit=time_limit,
        )
        outcome = _run(ctx, spec, out, data_dir, offline)
    raise typer.Exit(EXIT_CODES[outcome.record.status.state])


def rerun_command(
    ctx: typer.Context,
    record: Annotated[Path, typer.Argument(help="A record.json, or the run folder holding it.")],
    out: OutOption = "runs",
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Run again exactly what a result record describes."""
    with user_errors():
        _not_empty(out=out)
        outcome = _run(ctx, _spec_of(ctx, record), out, data_dir, offline)
    raise typer.Exit(EXIT_CODES[outcome.record.status.state])


def evaluate_command(
    ctx: typer.Context,
    run: Annotated[Path, typer.Argument(help="A run folder with a checkpoint (or its record.json).")],
    metrics: MetricsOption = None,
    metric_option: MetricOptionOption = None,
    inception_weights: InceptionOption = None,
    device: Annotated[str | None, typer.Option(help="Device; default: the original run's.", envvar="MEDBENCH_DEVICE")] = None,
    out: OutOption = "runs",
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Score a finished run's checkpoint again, e.g. with other metrics; no training."""
    with user_errors():
        _not_empty(out=out, device=device)
        folder = run.parent if run.name == RECORD_FILENAME else run
        original = _spec_of(ctx, folder)
        checkpoint = folder / CHECKPOINT
        if not checkpoint.is_file():
            raise ConfigError(f"{folder} has no {CHECKPOINT}: only runs that finished training "
                              f"(status ok, or failed in scoring) can be evaluated again.")
        options = _metric_options(metric_option, inception_weights)
        if original.metric_options and not (metric_option or inception_weights):
            err_console.print(f"[yellow]Notice:[/] scoring with the source run's metric "
                              f"options {escape(json.dumps(original.metric_options))}; "
                              f"--metric-option replaces them.", highlight=False,
                              soft_wrap=True)
        spec = dataclasses.replace(
            original, checkpoint=str(checkpoint), device=device or original.device,
            metrics=comma_list(metrics, "--metrics") if metrics is not None else original.metrics,
            metric_options=options if (metric_option or inception_weights)
            else original.metric_options)
        outcome = _run(ctx, spec, out, data_dir, offline)
    raise typer.Exit(EXIT_CODES[outcome.record.status.state])


def _not_empty(**values: str | None) -> None:
    for name, value in values.items():
        if value is not None and not value.strip():
            raise ConfigError(f"--{name} is empty; give a value or leave the option out.")


def _metric_options(items: list[str] | None,
                    inception_weights: Path | None) -> dict[str, dict[str, str]]:
    options = parse_metric_options(items or [])
    if inception_weights is not None:
        options.setdefault(ALL_METRICS, {})["inception_weights"] = str(inception_weights)
    return options


def _spec_of(ctx: typer.Context, record: Path) -> RunSpec:
    """The run configuration a record describes, once its split hashes are found to match
    the data this medbench loads: a record of other (or forged) data is not rerun."""
    path = record / RECORD_FILENAME if record.is_dir() else record
    settle_if_orphaned(path.parent)
    try:
        data = read_record(path)
        spec = RunSpec.from_dict(data.get("config"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read a run configuration from {path}: {exc}") from None
    if isinstance(data.get("dataset"), dict):
        notes: list[str] = []
        try:
            check_dataset(data["dataset"], host_from(ctx).registries, notes)
        except RecordRejected as exc:
            raise ConfigError(f"{path} does not describe the data here, so it cannot be "
                              f"run again as recorded: {exc}") from None
        for note in notes:
            err_console.print(f"[yellow]Notice:[/] {escape(note)}", highlight=False,
                              soft_wrap=True)
    return spec


def _run(ctx: typer.Context, spec: RunSpec, out_text: str,
         data_dir: Path | None = None, offline: bool = False) -> RunOutcome:
    host = host_from(ctx)
    out = Path(out_text).expanduser()
    plan = plan_run(spec, host.registries, out, data_dir=data_dir, offline=offline)
    settled, problems = settle_and_store(out)
    for folder in settled:
        err_console.print(f"[yellow]Notice:[/] {escape(str(folder))} was left `running` by a "
                          f"process that is gone; its record now says interrupted.",
                          highlight=False, soft_wrap=True)
    for problem in problems:
        err_console.print(f"[yellow]Notice:[/] {escape(problem)}", highlight=False,
                          soft_wrap=True)
    what = ("evaluate checkpoint" if spec.checkpoint else
            f"({plan.budget.image_size}px, {plan.budget.train_images:,} training images)")
    console.print(
        f"[bold]medbench run[/] method=[cyan]{escape(plan.method_cls.name)}[/] "
        f"task=[cyan]{escape(plan.task.name)}[/] dataset=[cyan]{escape(plan.dataset.name)}[/] "
        f"budget=[cyan]{escape(plan.budget.name)}[/] {what} seed={spec.seed} "
        f"device=[cyan]{plan.device}[/]",
        highlight=False, soft_wrap=True,
    )
    if plan.files is not None and not plan.files.verified:
        err_console.print("[yellow]Warning:[/] running on dataset file(s) that failed their "
                          "checksum (--allow-unverified); the record says unverified.",
                          highlight=False, soft_wrap=True)
    def announce(notice: str) -> None:
        err_console.print(f"[yellow]Notice:[/] {escape(notice)}", highlight=False,
                          soft_wrap=True)

    try:
        outcome = execute(plan, RichProgress(console), announce)
    except RunInterrupted as stop:
        record_path = stop.outcome.folder / RECORD_FILENAME
        err_console.print(f"[bold red]interrupted:[/] {escape(str(stop))}. "
                          f"Record: {escape(str(record_path))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CODES["interrupted"]) from None
    _summarise(outcome)
    return outcome


def _summarise(outcome: RunOutcome) -> None:
    record = outcome.record
    if record.metrics:
        rows: list[list[Cell]] = []
        for name, metric in record.metrics.items():
            value = "—" if metric.value is None else f"{metric.value:.4g}"
            samples = ", ".join(f"{k} {v}" for k, v in metric.n_samples.items()) or "—"
            note = metric.status if metric.status != "ok" else ""
            if not metric.comparable:
                note = "not comparable"
            elif "std_over_subsets" in metric.details:
                note = f"± {metric.details['std_over_subsets']:.2g} over subsets"
            elif "gain" in metric.details:
                note = (f"input {metric.details['input']:.4g}, gain "
                        f"{metric.details['gain']:+.3g}")
            elif "real_images_dice" in metric.details:
                note = f"real images {metric.details['real_images_dice']:.3g}"
            rows.append([name, value, "↑" if metric.higher_is_better else "↓", samples, note])
        emit([Column("metric", names=True), Column("value"), Column("better"),
              Column("n", drop=2), Column("note", drop=1)], rows,
             title=f"{record.method.name} on {record.task.name} / {record.dataset.name}")
    for notice in outcome.notices:
        err_console.print(f"[yellow]Notice:[/] {escape(notice)}", highlight=False,
                          soft_wrap=True)
    status = record.status
    folder = outcome.folder
    if status.state == "ok":
        console.print(f"[green]ok[/] in {record.timings.total_seconds:.0f}s. "
                      f"Record: {escape(str(folder / RECORD_FILENAME))}", highlight=False,
                      soft_wrap=True)
        if "samples" in record.artifacts:
            console.print(f"Samples: {escape(str(folder / record.artifacts['samples']))}",
                          highlight=False, soft_wrap=True)
    else:
        err_console.print(f"[bold red]{status.state}:[/] {escape(str(status.reason))}. "
                          f"Record: {escape(str(folder / RECORD_FILENAME))}",
                          highlight=False, soft_wrap=True)
        if "error_log" in record.artifacts:
            err_console.print(f"Full error: {escape(str(folder / record.artifacts['error_log']))}",
                              highlight=False, soft_wrap=True)
