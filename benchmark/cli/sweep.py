"""`medbench sweep`: many runs from lists (or a TOML file), skipping what is already done."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbench.api.errors import ConfigError
from medbench.cli.common import (
    CheckpointEveryOption,
    OfflineOption,
    TimeLimitOption,
    check_time_limit,
    comma_list,
    console,
    host_from,
    print_error,
    user_errors,
)
from medbench.cli.progress import RichProgress
from medbench.run.liveness import settle_and_store
from medbench.run.ray_executor import RayOptions, import_ray
from medbench.run.sweep import (
    Planned,
    Sweep,
    decide,
    elapsed,
    expand,
    finished_states,
    read_sweep_file,
    run_sweep,
    threads_per_worker,
)
from medbench.store import ResultStore
from medbench.store.database import DB_ENV

EXECUTORS = ("local", "ray")


def _seeds(text: str | None) -> list[int] | None:
    items = comma_list(text, "--seeds")
    if items is None:
        return None
    try:
        return [int(item) for item in items]
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated integers, e.g. 0,1,2; got "
                          f"'{text}'") from None


def sweep_command(
    ctx: typer.Context,
    methods: Annotated[str | None, typer.Option(help="Comma-separated methods.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Comma-separated tasks.")] = None,
    datasets: Annotated[str | None, typer.Option(help="Comma-separated datasets; default: each task's own.")] = None,
    seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds; default: 0.")] = None,
    budget: Annotated[str | None, typer.Option(help="Budget profile for every run; default: smoke.")] = None,
    precision: Annotated[str | None, typer.Option(help="Training precision of every run: 32, bf16 or 16-mixed; methods that have not opted in are skipped with a note. Default: 32.")] = None,
    metrics: Annotated[str | None, typer.Option("--metrics", help="Comma-separated metrics for every run, as `run --metrics`; 'default' stands for each task's defaults, and each run gets the names that score its task. Default: each task's defaults.")] = None,
    checkpoint_every: CheckpointEveryOption = None,
    time_limit: TimeLimitOption = None,
    compile_: Annotated[bool, typer.Option("--compile", help="torch.compile every run's networks while training; methods that have not opted in are skipped with a note.")] = False,
    file: Annotated[Path | None, typer.Option("--file", help="A TOML sweep file with methods, tasks, datasets, seeds, budget, train_fraction, metrics, precision, compile, checkpoint_every, time_limit; options given here win.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Run again what already has an ok record.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run again what failed or diverged before.")] = False,
    workers: Annotated[int, typer.Option(help="Runs at once, each in its own process with its share of the CPU threads.")] = 1,
    executor: Annotated[str, typer.Option(help="local: runs on this machine (--workers); ray: each run a task on a Ray cluster (pip install 'medbench\\[ray]').")] = "local",
    address: Annotated[str | None, typer.Option(help="With --executor ray: the cluster's address (HOST:PORT, ray://..., auto); default: a new local cluster on 127.0.0.1.")] = None,
    cpus_per_run: Annotated[int, typer.Option(help="With --executor ray: CPUs each CPU run asks for and uses (a CUDA run asks for one GPU).")] = 1,
    out: Annotated[str, typer.Option(help="Folder that receives the run folders.", envvar="MEDBENCH_OUT")] = "runs",
    data_dir: Annotated[Path | None, typer.Option(help="Folder searched first for datasets' files (then $MEDBENCH_DATA, ~/.cache/medbench/data).")] = None,
    offline: OfflineOption = False,
    db: Annotated[Path | None, typer.Option("--db", help="The results database that decides what is done, and receives every run.", envvar=DB_ENV, show_default=False)] = None,
) -> None:
    """Run every valid combination of methods, tasks, datasets and seeds at one budget.

    Runs whose experiment (config, versions, data) already has an ok record in the results
    database are skipped. A failing run never stops the sweep; the exit code is 1 if any run
    failed or diverged.
    """
    with user_errors():
        settings = read_sweep_file(file) if file else {}
        check_time_limit(time_limit)
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        if executor == "local" and workers > (os.cpu_count() or 1):
            raise ConfigError(f"--workers {workers} is more than this machine's "
                              f"{os.cpu_count() or 1} CPU threads; each worker is a process "
                              f"with at least one. For more, use --executor ray.")
        if executor not in EXECUTORS:
            raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got "
                              f"'{executor}'")
        if executor == "local" and address is not None:
            raise ConfigError("--address is for --executor ray; a local sweep has none")
        if cpus_per_run < 1:
            raise ConfigError(f"--cpus-per-run must be at least 1, got {cpus_per_run}")
        ray = RayOptions(address, cpus_per_run) if executor == "ray" else None
        if ray is not None:
            import_ray()  # a missing extra is one line, before any planning
        sweep = Sweep(
            methods=comma_list(methods, "--methods") or settings.get("methods", []),
            tasks=comma_list(tasks, "--tasks") or settings.get("tasks", []),
            datasets=comma_list(datasets, "--datasets") or settings.get("datasets", []),
            seeds=_seeds(seeds) or settings.get("seeds", [0]),
            budget=budget or settings.get("budget", "smoke"),
            train_fraction=float(settings.get("train_fraction", 1.0)),
            precision=precision or settings.get("precision", "32"),
            compile=compile_ or settings.get("compile", False),
            checkpoint_every=checkpoint_every if checkpoint_every is not None
            else settings.get("checkpoint_every"),
            time_limit=time_limit if time_limit is not None else settings.get("time_limit"),
            metrics=comma_list(metrics, "--metrics") or settings.get("metrics"))
        registries = host_from(ctx).registries
        notes: list[str] = []
        plans = expand(sweep, registries, Path(out), notes, data_dir, offline, db)
        settled, problems = settle_and_store(Path(out), db)  # runs of a sweep that was killed
        notes += [f"{folder.name} was left `running` by a process that is gone; its record "
                  f"now says interrupted, and is stored" for folder in settled] + problems
        with ResultStore(db) as store:
            planned = decide(plans, store, force, retry_failed)
        for note in notes:
            console.print(f"[dim]{escape(note)}[/]", highlight=False)
        for item in planned:
            if item.skip:
                console.print(f"[dim]skip {escape(item.label)}: {escape(item.skip)}[/]",
                              highlight=False)
        todo = sum(item.skip is None for item in planned)
        threads = "all threads" if workers == 1 else \
            f"{threads_per_worker(workers)} threads each"
        where = f"{workers} worker(s), {threads}" if ray is None else \
            f"Ray at {address or 'a local cluster'}, {cpus_per_run} CPU(s) per run"
        console.print(f"sweep: {len(planned)} runs, {todo} to run, {len(planned) - todo} "
                      f"already done; {where}", highlight=False)
        start = time.perf_counter()
        with RichProgress(console).bar("sweep", total=todo) as bar:
            def on_done(item: Planned, ending: str, reason: str | None) -> None:
                bar.advance(1)
                line = f"{ending:11} {item.label}" + (f": {reason}" if reason else "")
                console.print(escape(line), highlight=False)

            try:
                result = run_sweep(planned, registries, workers, on_done,
                                   finished_states(force, retry_failed), ray)
            except KeyboardInterrupt:  # RunInterrupted too; workers record theirs themselves
                print_error("Sweep interrupted; finished runs are stored, a rerun of the "
                            "same sweep skips them.")
                raise typer.Exit(130) from None
        table = Table(*result.counts, title=f"sweep finished in {elapsed(start)}")
        table.add_row(*(str(count) for count in result.counts.values()))
        console.print(table)
        for failure in result.failures:
            console.print(f"[red]failed[/] {escape(failure)}", highlight=False)
        if result.failures:
            raise typer.Exit(1)
