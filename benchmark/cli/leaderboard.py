"""`medbench leaderboard` and `medbench report`: stored records -> tables and a site."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError
from medbench.cli.common import comma_list, console, host_from, user_errors
from medbench.report.leaderboards import Selection
from medbench.report.site import build_site, cards_for
from medbench.report.sources import load_leaderboards

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
        _, boards = load_leaderboards(registries, db, records,
                                     Selection(task, dataset, budget, include_incomparable),
                                     release)
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
        loaded, boards = load_leaderboards(registries, db, records, selection, release)
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
    names = comma_list(text, "--format")
    if not names:
        raise ConfigError("--format needs at least one format, e.g. markdown")
    return names
