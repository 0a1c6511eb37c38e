"""`medbench results`: the results database: list, show, export and import records."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape

from medbench.cli.common import console, host_from, print_error, user_errors
from medbench.cli.output import Column, JsonOption, emit
from medbench.record.schema import RECORD_FILENAME, read_record
from medbench.store import ResultStore, StoreError
from medbench.store.record_files import is_record_lines, read_record_lines, write_record_lines
from medbench.store.validation import RecordRejected, check_record

app = typer.Typer(help="The results database: every run's record, to list, show, export and "
                       "import.", context_settings={"help_option_names": ["-h", "--help"]},
                  no_args_is_help=True)

Db = Annotated[Path | None, typer.Option("--db", help="The results database file; default: ~/.local/share/medbench/results.sqlite.", envvar="MEDBENCH_RESULTS_DB", show_default=False)]
Task = Annotated[str | None, typer.Option("--task", help="Only runs of this task.")]
Method = Annotated[str | None, typer.Option("--method", help="Only runs of this method.")]
Dataset = Annotated[str | None, typer.Option("--dataset", help="Only runs on this dataset.")]
Budget = Annotated[str | None, typer.Option("--budget", help="Only runs at this budget.")]
Status = Annotated[str | None, typer.Option("--status", help="Only runs that ended so: ok, failed, diverged, interrupted.")]


@app.command("list")
def list_command(db: Db = None, task: Task = None, method: Method = None,
                 dataset: Dataset = None, budget: Budget = None, status: Status = None,
                 as_json: JsonOption = False) -> None:
    """List stored runs, oldest first."""
    with user_errors(), ResultStore(db) as store:
        runs = store.runs(task=task, method=method, dataset=dataset, budget=budget,
                          status=status)
        keys = ("key", "run_id", "task", "method", "dataset", "budget", "seed", "status",
                "origin")
        columns = [Column("key"), Column("run_id", names=True, drop=1),
                   Column("task", names=True), Column("method", names=True),
                   Column("dataset", names=True), Column("budget", names=True),
                   Column("seed"), Column("status"), Column("origin", drop=2)]
        emit(columns, [[run[key] for key in keys] for run in runs], as_json,
             title=f"{len(runs)} runs in {store.path}")


@app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="A run's key (or its first 4+ characters) or run id.")],
    db: Db = None, as_json: JsonOption = False,
) -> None:
    """Print one stored record as JSON (its images' bytes abridged; `results export` keeps
    them): indented, or on one line with --json."""
    with user_errors(), ResultStore(db) as store:
        record = store.record(run)
        for image in (record.get("images") or {}).values():
            if isinstance(image, dict) and isinstance(image.get("png_base64"), str):
                image["png_base64"] = f"<{len(image['png_base64']) * 3 // 4:,} bytes of PNG>"
        if as_json:
            print(json.dumps(record, sort_keys=True))
        else:
            console.print_json(json.dumps(record))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv or .parquet (a table of metrics), or .jsonl / .jsonl.gz (the records themselves, for `results import` and `leaderboard --records`).")],
    db: Db = None, task: Task = None, method: Method = None, dataset: Dataset = None,
    budget: Budget = None, status: Status = None, as_json: JsonOption = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
) -> None:
    """Export one row per run and metric (value, status, direction) as CSV or Parquet, or
    the whole records as JSON Lines."""
    with user_errors():
        if not is_record_lines(out) and out.suffix.lower() not in (".csv", ".parquet"):
            raise StoreError(f"--out must end in .csv, .parquet, .jsonl or .jsonl.gz, got "
                             f"'{out.name}'")
        if out.exists() and not overwrite:
            raise StoreError(f"{out} exists; pass --overwrite to replace it, or choose "
                             f"another --out")
        _export(out, db, {"task": task, "method": method, "dataset": dataset,
                          "budget": budget, "status": status}, as_json)


def _export(out: Path, db: Path | None, filters: dict[str, str | None], as_json: bool) -> None:
    with ResultStore(db, create=False) as store:
        if is_record_lines(out):
            try:
                count = write_record_lines(out, store.records(**filters))
            except OSError as exc:
                raise StoreError(f"Cannot write {out}: {exc.strerror or exc}") from None
            _done(as_json, f"{count} records written to {out}", records=count, path=str(out))
            return
        rows = pd.DataFrame(store.metric_values(**filters))
        try:
            if out.suffix.lower() == ".csv":
                rows.to_csv(out, index=False)
            else:
                rows.to_parquet(out, index=False)
        except ImportError:
            raise StoreError("Parquet export needs pyarrow: pip install pyarrow (or export "
                             ".csv)") from None
        except OSError as exc:
            raise StoreError(f"Cannot write {out}: {exc.strerror or exc}") from None
        runs = int(rows["key"].nunique()) if len(rows) else 0
        _done(as_json, f"{len(rows)} rows ({runs} runs) written to {out}", rows=len(rows),
              runs=runs, path=str(out))


@app.command("import")
def import_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="record.json files, .jsonl / .jsonl.gz files of records (`results export`), or folders searched for record.json (run folders, a runs/ folder).")],
    db: Db = None, as_json: JsonOption = False,
) -> None:
    """Import records made elsewhere; each is checked first, and none is ever executed."""
    with user_errors():
        registries = host_from(ctx).registries
        files = records_under(paths)
        if not files:
            raise StoreError(f"No {RECORD_FILENAME} under {', '.join(map(str, paths))}")
        imported = rejected = 0
        outcomes: list[dict[str, Any]] = []
        say = (lambda line: None) if as_json else \
            (lambda line: console.print(escape(line), highlight=False))
        with ResultStore(db) as store:
            for label, data in read_sources(files):
                try:
                    if isinstance(data, Exception):
                        raise data
                    notes = check_record(data, registries)
                    key = store.put(data, origin="import")
                except (ValueError, RecordRejected, StoreError) as exc:  # JSON: ValueError
                    rejected += 1
                    print_error(f"{label}: rejected: {exc}")
                    outcomes.append({"source": label, "rejected": str(exc)})
                    continue
                imported += 1
                outcomes.append({"source": label, "key": key, "notes": notes})
                say(f"{label}: imported as {key}")
                for note in notes:
                    say(f"  note: {note}")
        _done(as_json, f"{imported} imported, {rejected} rejected", imported=imported,
              rejected=rejected, records=outcomes)
        if rejected:
            raise typer.Exit(1)


def _done(as_json: bool, line: str, **facts: Any) -> None:
    """What a command did: one line for people, or its facts as a JSON object."""
    if as_json:
        sys.stdout.write(json.dumps(facts, indent=2) + "\n")
    else:
        console.print(escape(line), highlight=False)


def records_under(paths: list[Path]) -> list[Path]:
    """Each path that is a file, and every record.json below each folder, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(RECORD_FILENAME))
        else:
            found.append(path)
    return found


def read_sources(files: list[Path]) -> list[tuple[str, Any]]:
    """(label, parsed record or the ValueError that reading it raised) for every record in
    `files`; a JSON Lines file gives one per line."""
    found: list[tuple[str, Any]] = []
    for path in files:
        try:
            if is_record_lines(path):
                found += [(f"{path} record {number}", value) for number, value in
                          enumerate(read_record_lines(path), start=1)]
            else:
                found.append((str(path), read_record(path)))
        except ValueError as exc:
            found.append((str(path), exc))
    return found
