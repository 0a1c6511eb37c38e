"""Result records in SQLite (the standard library's): one row per run with the columns that
queries filter on, the whole record as JSON beside them, and one row per metric.

The JSON record in the run folder stays the portable format; this is the index over all of
them. WAL journaling lets readers work while a process writes. Each write is one
transaction that takes the write lock up front (BEGIN IMMEDIATE), and a writer that finds
the lock taken waits for it (the busy timeout) instead of failing, so runs in parallel
processes never lose or corrupt a record.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medbench.api.errors import MedbenchError
from medbench.record.schema import ResultRecord

DB_ENV = "MEDBENCH_RESULTS_DB"
FILTERS = ("task", "method", "dataset", "budget", "status")
BUSY_TIMEOUT_S = 60.0

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        key TEXT PRIMARY KEY,        -- record_key(): the run's identity across machines
        run_key TEXT NOT NULL,       -- config.run_key: the experiment ('' before schema 2.3)
        run_id TEXT NOT NULL,        -- the run folder's name
        created_at TEXT NOT NULL,    -- UTC ISO-8601 start time
        task TEXT NOT NULL,
        method TEXT NOT NULL,
        dataset TEXT NOT NULL,
        budget TEXT NOT NULL,
        seed INTEGER NOT NULL,
        status TEXT NOT NULL,        -- ok, failed, diverged, interrupted (running: not stored)
        schema_version TEXT NOT NULL,
        origin TEXT NOT NULL,        -- where the row came from: this machine's run, or import
        record TEXT NOT NULL         -- the whole record, as JSON
    )""",
    """CREATE TABLE IF NOT EXISTS metrics (
        key TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value REAL,                  -- NULL when the metric was unavailable or failed
        status TEXT NOT NULL,
        higher_is_better INTEGER NOT NULL,
        PRIMARY KEY (key, name)
    )""",
    "CREATE INDEX IF NOT EXISTS runs_by_table ON runs (task, dataset, budget, method)",
    "CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status)",
    "CREATE INDEX IF NOT EXISTS runs_by_run_key ON runs (run_key)",
    """CREATE TABLE IF NOT EXISTS claims (
        run_key TEXT PRIMARY KEY,    -- an experiment that a process is running now
        owner TEXT NOT NULL,         -- JSON: host, pid, start_ticks of that process
        claimed_at TEXT NOT NULL     -- UTC ISO-8601
    )""",
)


class StoreError(MedbenchError):
    """The results database cannot be opened, written or asked what was asked."""


def default_path() -> Path:
    """$MEDBENCH_RESULTS_DB, else $XDG_DATA_HOME/medbench/results.sqlite, else
    ~/.local/share/medbench/results.sqlite: data to keep, not a cache."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "medbench" / "results.sqlite"


def record_key(record: ResultRecord | dict[str, Any]) -> str:
    """A run's identity: its folder name, start time and machine. The same run stored twice
    (or imported again) is one row; runs of the same name elsewhere are not."""
    if not isinstance(record, ResultRecord):
        record = ResultRecord.from_dict(record)
    host = record.process.host if record.process is not None else None
    identity = json.dumps([record.run_id, record.created_at, host])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


class ResultStore:
    """One connection to the results database at `path` (created on first use)."""

    def __init__(self, path: Path | None = None, create: bool = True) -> None:
        """Open the database at `path` (None: the default), creating it unless `create` is
        False: a reader given a mistyped path is told so, instead of reading a new, empty
        database."""
        self.path = Path(path) if path is not None else default_path()
        if not create and not self.path.is_file():
            raise StoreError(f"No results database at {self.path}: check the path (--db or "
                             f"{DB_ENV}), or read exported records with --records")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._write() as db:
                for statement in SCHEMA:
                    db.execute(statement)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"Cannot open the results database {self.path}: {exc}; set "
                             f"{DB_ENV} (or --db) to a writable file") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def put(self, record: dict[str, Any], origin: str = "local") -> str:
        """Store (or replace) one finished run's record, as given (its JSON); returns its
        key. StoreError when it is no result record."""
        try:
            read = ResultRecord.from_dict(record)
        except ValueError as exc:
            raise StoreError(f"Not a result record: {exc}") from None
        key = record_key(read)
        row = (key, read.config.run_key, read.run_id, read.created_at, read.task.name,
               read.method.name, read.dataset.name, read.config.budget, int(read.config.seed),
               read.status.state, read.schema_version, origin,
               json.dumps(record, sort_keys=True))
        metrics = [(key, name, result.value, result.status, int(bool(result.higher_is_better)))
                   for name, result in read.metrics.items()]
        try:
            with self._write() as db:
                db.execute("DELETE FROM runs WHERE key = ?", (key,))  # its metrics cascade
                db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           row)
                db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", metrics)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the results database {self.path}: {exc}") \
                from None
        return key

    def runs(self, **filters: str | None) -> list[dict[str, Any]]:
        """The stored runs (without their records), oldest first, filtered by FILTERS."""
        where, values = self._where(filters)
        cursor = self._db.execute(
            "SELECT key, run_id, created_at, task, method, dataset, budget, seed, status, "
            f"origin FROM runs {where} ORDER BY created_at, run_id", values)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def records(self, **filters: str | None) -> list[dict[str, Any]]:
        """The stored records themselves, oldest first, filtered by FILTERS."""
        where, values = self._where(filters)
        rows = self._db.execute(f"SELECT record FROM runs {where} ORDER BY created_at, run_id",
                                values).fetchall()
        return [json.loads(row[0]) for row in rows]

    def record(self, reference: str) -> dict[str, Any]:
        """The record whose key or run_id is `reference` (a key prefix of 4+ characters
        works too); StoreError when none or several match."""
        rows = self._db.execute(
            "SELECT record FROM runs WHERE run_id = ? OR key = ? OR "
            "(length(?) >= 4 AND key LIKE ? || '%')",
            (reference, reference, reference, reference)).fetchall()
        if not rows:
            raise StoreError(f"No stored run is '{reference}'; see `medbench results list`")
        if len(rows) > 1:
            raise StoreError(f"{len(rows)} stored runs match '{reference}'; give the key from "
                             f"`medbench results list`")
        return json.loads(rows[0][0])

    def states(self, run_key: str) -> set[str]:
        """How the stored runs of one experiment (config.run_key) ended."""
        rows = self._db.execute("SELECT DISTINCT status FROM runs WHERE run_key = ?",
                                (run_key,)).fetchall()
        return {row[0] for row in rows}

    def claim(self, run_key: str, owner: dict[str, Any], gone: Callable[[dict[str, Any]], bool],
              finished: frozenset[str]) -> str | None:
        """Take `run_key` for `owner` before running it, so that sweeps sharing this database
        run each experiment once. Returns None when taken, else why not: another live
        process holds it, or a stored run of it ended in one of `finished`. A claim whose
        owner is `gone` (its process ended without releasing it) is taken over."""
        owner_text = json.dumps(owner, sort_keys=True)
        try:
            with self._write() as db:
                row = db.execute("SELECT owner FROM claims WHERE run_key = ?",
                                 (run_key,)).fetchone()
                if row is not None and row[0] != owner_text:
                    holder = json.loads(row[0])
                    if not gone(holder):
                        return (f"running in process {holder.get('pid')} on "
                                f"{holder.get('host')}")
                states = {state for (state,) in db.execute(
                    "SELECT DISTINCT status FROM runs WHERE run_key = ?", (run_key,))}
                if states & finished:
                    return f"done meanwhile ({'/'.join(sorted(states & finished))})"
                db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                           (run_key, owner_text, datetime.now(timezone.utc).isoformat()))
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the results database {self.path}: {exc}") \
                from None
        return None

    def release(self, run_key: str, owner: dict[str, Any]) -> None:
        """Give back `owner`'s claim on `run_key` (its record is stored, or it never ran)."""
        try:
            with self._write() as db:
                db.execute("DELETE FROM claims WHERE run_key = ? AND owner = ?",
                           (run_key, json.dumps(owner, sort_keys=True)))
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot write to the results database {self.path}: {exc}") \
                from None

    def metric_values(self, **filters: str | None) -> list[dict[str, Any]]:
        """One row per run and metric: the run's columns plus name, value, status."""
        where, values = self._where(filters, table="runs.")
        cursor = self._db.execute(
            "SELECT runs.key, run_id, created_at, task, method, dataset, budget, seed, "
            "runs.status, metrics.name, metrics.value, metrics.status AS metric_status, "
            f"higher_is_better FROM runs JOIN metrics ON metrics.key = runs.key {where} "
            "ORDER BY created_at, run_id, metrics.name", values)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @staticmethod
    def _where(filters: dict[str, str | None], table: str = "") -> tuple[str, list[str]]:
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise StoreError(f"Cannot filter by {', '.join(sorted(unknown))}; filters: "
                             f"{', '.join(FILTERS)}")
        chosen = [(name, value) for name, value in filters.items() if value is not None]
        if not chosen:
            return "", []
        clause = " AND ".join(f"{table}{name} = ?" for name, _ in chosen)
        return f"WHERE {clause}", [value for _, value in chosen]
