"""`medbench leaderboard` and `medbench report`: stored records -> tables and a site."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError, MedbenchError
from medbench.api.leaderboard import Leaderboard
from medbench.cli.common import console, host_from, user_errors
from medbench.host.manager import Registries
from medbench.report.leaderboards import Selection, build_leaderboards
from medbench.report.site import build_site, cards_for
from medbench.store import ResultStore, StoreError
from medbench.store.record_files import read_record_lines
from medbench.store.validation import RecordRejected, check_record

Db = Annotated[Path | None, typer.Option("--db", help="The results database to read; default: ~/.local/share/medbench/results.sqlite.", envvar="MEDBENCH_RESULTS_DB", show_default=False)]
Records = Annotated[list[Path] | None, typer.Option("--records", help="Read these .jsonl / .jsonl.gz files of records (`results export`) instead of the database; each record is checked as on import. Repeatable.", show_default=False)]
Task = Annotated[str | None, typer.Option("--task", help="Only this task's tables.")]
Dataset = Annotated[str | None, typer.Option("--dataset", help="Only tables on this dataset.")]
Budget = Annotated[str | None, typer.Option("--budget", help="Only tables at this budget.")]
Release = Annotated[str | None, typer.Option("--release", help="A version for these tables (e.g. the reference leaderboards' leaderboards/VERSION), shown in every header.", show_default=False)]
Incomparable = Annotated[bool, typer.Option("--include-incomparable", help="Aggregate values that records mark not comparable (e.g. FID from unofficial Inception weights); left out by default, with a note.")]


def leaderboard_command(
    ctx: typer.Context, task: Task = None, dataset: Dataset = None, budget: Budget = None,
    formats: Annotated[str, typer.Option("--format", help="Comma-separated formats: markdown, csv, latex, html, or any a plugin adds (`medbench list reporters`).")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Folder for one file per table and format (TASK--DATASET--BUDGET.SUFFIX); default: print to stdout.", show_default=False)] = None,
    db: Db = None, records: Records = None, include_incomparable: Incomparable = False,
    release: Release = None,
) -> None:
    """One table per task, dataset and budget: seeds aggregated (mean, sd, 95% t-interval),
    methods ranked by the task's primary metric, each tested against the best (Holm)."""
    with user_errors():
        registries = host_from(ctx).registries
        reporters = [registries.reporters.get(name) for name in _names(formats)]
        _, boards = _leaderboards(registries, db, records,
                                  Selection(task, dataset, budget, include_incomparable), release)
        if out is None:
            for reporter in reporters:
                sys.stdout.write(reporter.render(boards))
            return
        try:
            out.mkdir(parents=True, exist_ok=True)
            for board in boards:
                for reporter in reporters:
                    path = out / f"{board.slug}.{reporter.suffix}"
                    path.write_text(reporter.render([board]), encoding="utf-8")
                for label, image in board.images.items():
                    path = out / board.image_path(label)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(image.png)
        except OSError as exc:
            raise ConfigError(f"Cannot write to {out}: {exc.strerror or exc}") from None
        console.print(f"{len(boards)} table(s) × {len(reporters)} format(s) written to "
                      f"{escape(str(out))}", highlight=False)


def report_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the static site (index.html and one page per table and per method).")],
    runs: Annotated[Path | None, typer.Option("--runs", help="Folder holding the run folders, for sample grids and training curves.", envvar="MEDBENCH_OUT", show_default="runs")] = Path("runs"),
    task: Task = None, dataset: Dataset = None, budget: Budget = None,
    db: Db = None, records: Records = None, include_incomparable: Incomparable = False,
    release: Release = None,
) -> None:
    """Write a self-contained static HTML report: an index of tables, a page per table with
    plots, and a page per method with its model card, samples and training curves."""
    with user_errors():
        registries = host_from(ctx).registries
        selection = Selection(task, dataset, budget, include_incomparable)
        loaded, boards = _leaderboards(registries, db, records, selection, release)
        methods = {row.method for board in boards for row in board.rows}
        try:
            pages = build_site(out, boards, loaded,
                               cards_for(methods, registries.methods),
                               runs if runs is not None and runs.is_dir() else None,
                               [registries.reporters.get(name) for name in ("csv", "latex")
                                if name in registries.reporters])
        except OSError as exc:
            raise ConfigError(f"Cannot write the report to {out}: {exc.strerror or exc}") \
                from None
        console.print(f"{len(pages)} pages written; open {escape(str(out / 'index.html'))}",
                      highlight=False)


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ConfigError("--format needs at least one format, e.g. markdown")
    return names


def _primary_metrics(registries: Registries) -> dict[str, str]:
    return {task.name: task.primary_metric for task in registries.tasks
            if task.primary_metric}


def _dataset_facts(registries: Registries) -> dict[str, dict[str, str]]:
    """What each installed dataset is, for tables whose records predate schema 2.5."""
    facts = {}
    for dataset in registries.datasets:
        module = type(dataset).__module__.rpartition(".")[0]
        card = f"medbench datasets info {dataset.name}"
        if module.startswith("medbench."):
            card = (f"{module.removeprefix('medbench.').replace('.', '/')}/CARD.md in the "
                    f"medbench source, or {card}")
        facts[dataset.name] = {
            "data": "synthetic phantom (generated; no patient data)" if dataset.synthetic
            else "patient data", "card": card}
    return facts


def _leaderboards(registries: Registries, db: Path | None, records: list[Path] | None,
                  selection: Selection, release: str | None = None,
                  ) -> tuple[list[dict[str, Any]], list[Leaderboard]]:
    """The selected records and the tables they make; a one-line error when there are none."""
    loaded = [record for record in _records(db, records, registries)
              if selection.admits(record)]
    boards = build_leaderboards(loaded, _primary_metrics(registries), selection,
                                _dataset_facts(registries))
    if release:
        boards = [replace(board, provenance={"leaderboard version": release,
                                             **board.provenance}) for board in boards]
    if not boards:
        raise MedbenchError(_nothing(selection))
    return loaded, boards


def _nothing(selection: Selection) -> str:
    chosen = ", ".join(f"{name} {value}" for name, value in
                       (("task", selection.task), ("dataset", selection.dataset),
                        ("budget", selection.budget)) if value) or "any"
    return (f"No finished runs for {chosen}; run `medbench sweep` (or `medbench run`), or "
            f"import records with `medbench results import`")


def _records(db: Path | None, files: list[Path] | None,
             registries: Registries) -> list[dict[str, Any]]:
    if not files:
        with ResultStore(db) as store:
            return store.records()
    found = []
    for path in files:
        try:
            values = read_record_lines(path)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        for number, value in enumerate(values, start=1):
            try:
                check_record(value, registries)
            except RecordRejected as exc:
                raise StoreError(f"{path} record {number} is rejected: {exc}") from None
            found.append(value)
    return found
