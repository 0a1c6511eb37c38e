"""Where tables come from: stored records (the results database, or exported .jsonl files
checked as on import) and what the installed plugins say about tasks and datasets. The
`leaderboard` and `report` commands call `load_leaderboards`; so can a script."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from medbench.api.errors import MedbenchError
from medbench.api.leaderboard import Leaderboard
from medbench.host.manager import Registries
from medbench.report.leaderboards import Selection, build_leaderboards, typed
from medbench.store import ResultStore, StoreError
from medbench.store.record_files import read_record_lines
from medbench.store.validation import RecordRejected, check_record


def load_leaderboards(registries: Registries, db: Path | None, files: list[Path] | None,
                      selection: Selection, release: str | None = None,
                      ) -> tuple[list[dict[str, Any]], list[Leaderboard]]:
    """The selected records (as stored) and the tables they make. `files` (exported records) replace
    the database `db` (None: the default one); `release` is shown in every table's header.
    MedbenchError, in one line, when nothing is selected."""
    stored = [(record, typed(record)) for record in load_records(db, files, registries)]
    chosen = [(record, read) for record, read in stored if selection.admits(read)]
    boards = build_leaderboards([read for _, read in chosen], primary_metrics(registries),
                                selection, dataset_facts(registries))
    loaded = [record for record, _ in chosen]
    if release:
        boards = [replace(board, provenance={"leaderboard version": release,
                                             **board.provenance}) for board in boards]
    if not boards:
        raise MedbenchError(_nothing(selection))
    return loaded, boards


def load_records(db: Path | None, files: list[Path] | None,
                 registries: Registries) -> list[dict[str, Any]]:
    """Every record in `files`, each checked as `results import` checks it; without files,
    every record in the database. StoreError names the file and record that is refused."""
    if not files:
        with ResultStore(db, create=False) as store:
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


def primary_metrics(registries: Registries) -> dict[str, str]:
    """Task name -> the metric its tables rank by."""
    return {task.name: task.primary_metric for task in registries.tasks
            if task.primary_metric}


def dataset_facts(registries: Registries) -> dict[str, dict[str, str]]:
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


def _nothing(selection: Selection) -> str:
    chosen = ", ".join(f"{name} {value}" for name, value in
                       (("task", selection.task), ("dataset", selection.dataset),
                        ("budget", selection.budget)) if value) or "any"
    return (f"No finished runs for {chosen}; run `medbench sweep` (or `medbench run`), or "
            f"import records with `medbench results import`")
