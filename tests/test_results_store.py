"""The results database: concurrent writers in separate processes, every run stored, the
`medbench results` commands, and import validation on a corpus of bad records."""

from __future__ import annotations

import copy
import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from medbench.cli import app
from medbench.store import ResultStore, record_key

from support import minimal_record

WRITER = """
import json, sys
from medbench.store import ResultStore
template, db = json.loads(sys.argv[1]), sys.argv[2]
worker, count = int(sys.argv[3]), int(sys.argv[4])
for i in range(count):
    record = dict(template, run_id=f"w{worker}-r{i}")
    record["config"] = dict(template["config"], seed=i)
    record["metrics"] = {"m": dict(template["metrics"]["m"], value=worker * 1000 + i)}
    with ResultStore(db) as store:  # a fresh connection per record, as runs do
        store.put(record)
"""


def test_parallel_writers_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    db, workers, count = tmp_path / "results.sqlite", 4, 30
    ResultStore(db).close()  # created up front, as the first run would
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, json.dumps(minimal_record()),
                                   str(db), str(worker), str(count)],
                                  stderr=subprocess.PIPE, text=True)
                 for worker in range(workers)]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    with ResultStore(db) as store:
        runs = store.runs()
        assert len(runs) == workers * count
        values = {row["run_id"]: row["value"] for row in store.metric_values()}
        for worker in range(workers):
            for i in range(count):
                assert values[f"w{worker}-r{i}"] == worker * 1000 + i
                assert store.record(f"w{worker}-r{i}")["config"]["seed"] == i
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_storing_a_record_again_replaces_it(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "db.sqlite") as store:
        key = store.put(minimal_record(value=1.0))
        assert store.put(minimal_record(value=2.0)) == key
        assert [row["value"] for row in store.metric_values()] == [2.0]
        other_host = minimal_record(value=3.0)
        # the same folder name on another machine
        other_host["process"] = {"host": "elsewhere", "pid": 1, "start_ticks": None}
        assert store.put(other_host) != key
        assert len(store.runs()) == 2
        assert store.runs(status="failed") == []
        assert store.record(key[:6])["metrics"]["m"]["value"] == 2.0


def tiny_run(runner, host, tmp_path: Path, *extra: str) -> dict:
    args = ["run", "--method", "gaussian", "--task", "synthesis", "--dataset", "tiny-phantom",
            "--budget", "tiny", "--out", str(tmp_path / "runs"), "--device", "cpu",
            "--metrics", "fd_randcnn", *extra]
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    path = sorted((tmp_path / "runs").glob("*/record.json"))[-1]
    return json.loads(path.read_text())


def test_every_run_is_stored_as_its_folder_holds_it(runner, host, tmp_path: Path) -> None:
    record = tiny_run(runner, host, tmp_path)
    with ResultStore() as store:  # MEDBENCH_RESULTS_DB, set per test by conftest
        assert store.record(record["run_id"]) == record
        [row] = store.runs(task="synthesis", method="gaussian", budget="tiny", status="ok")
        assert row["origin"] == "local" and row["key"] == record_key(record)


def test_a_database_that_cannot_be_written_costs_a_notice_not_the_run(
        runner, host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-folder"
    blocked.mkdir()
    monkeypatch.setenv("MEDBENCH_RESULTS_DB", str(blocked))
    args = ["run", "--method", "gaussian", "--task", "synthesis", "--dataset", "tiny-phantom",
            "--budget", "tiny", "--out", str(tmp_path / "runs"), "--device", "cpu",
            "--metrics", "fd_randcnn"]
    result = runner.invoke(app, args, obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "Cannot open the results database" in result.output
    assert "record in its folder is complete" in result.output
    record = json.loads(next((tmp_path / "runs").glob("*/record.json")).read_text())
    assert record["status"]["state"] == "ok" and record["metrics"]["fd_randcnn"]["value"] > 0


def test_list_show_and_export(runner, host, tmp_path: Path) -> None:
    first = tiny_run(runner, host, tmp_path)
    second = tiny_run(runner, host, tmp_path, "--seed", "1")
    listed = runner.invoke(app, ["results", "list", "--method", "gaussian"], obj=host,
                           terminal_width=300)
    assert listed.exit_code == 0, listed.output
    assert "2 runs" in listed.output and first["run_id"] in listed.output
    shown = runner.invoke(app, ["results", "show", second["run_id"]], obj=host)
    assert shown.exit_code == 0
    printed = json.loads(shown.output)
    panel = printed["images"].pop("panel")  # its bytes are abridged for the terminal
    assert panel["png_base64"].endswith("bytes of PNG>") and panel["caption"]
    second["images"].pop("panel")
    assert printed == second
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"export.{suffix}"
        exported = runner.invoke(app, ["results", "export", "--out", str(out), "--task",
                                       "synthesis"], obj=host)
        assert exported.exit_code == 0, exported.output
        table = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert sorted(table["seed"]) == [0, 1]
        assert set(table["name"]) == {"fd_randcnn"}
        expected = sorted([first["metrics"]["fd_randcnn"]["value"],
                           second["metrics"]["fd_randcnn"]["value"]])
        assert sorted(table["value"]) == pytest.approx(expected)
    bad = runner.invoke(app, ["results", "export", "--out", str(tmp_path / "x.xlsx")], obj=host)
    assert bad.exit_code == 1 and "--out must end in .csv, .parquet, .jsonl" in bad.output


def corrupt(record: dict, change: str) -> object:
    """The record with one thing wrong, as named in BAD_RECORDS."""
    bad = copy.deepcopy(record)
    metric = bad["metrics"]["fd_randcnn"]
    if change == "not-an-object":
        return [bad]
    if change == "image-not-a-png":
        bad["images"]["panel"]["png_base64"] = "PHNjcmlwdD4="  # "<script>"
    elif change == "image-not-base64":
        bad["images"]["panel"]["png_base64"] = "not base64!"
    if change == "missing-metrics":
        del bad["metrics"]
    elif change == "schema-from-the-future":
        bad["schema_version"] = "9.0"
    elif change == "still-running":
        bad["status"]["state"] = "running"
    elif change == "direction-flipped":
        metric["higher_is_better"] = True
    elif change == "below-range":
        metric["value"] = -1.0
    elif change == "nan-value":
        metric["value"] = float("nan")
    elif change == "ok-without-value":
        metric["value"] = None
    elif change == "split-hash":
        bad["dataset"]["splits"]["test"]["sha256"] = "0" * 64
    elif change == "config-other-method":
        bad["config"]["method"] = "dcgan"
    elif change == "config-bad-seed":
        bad["config"]["seed"] = "zero"
    elif change == "metrics-a-list":
        bad["metrics"] = [metric]
    return bad


BAD_RECORDS = [
    ("not-an-object", "is not a medbench result record"),
    ("missing-metrics", "missing key(s) metrics"),
    ("schema-from-the-future", "schema_version '9.0' is not one this medbench reads"),
    ("still-running", "status 'running' is not a finished run"),
    ("direction-flipped", "metric 'fd_randcnn' says higher is better, but its definition says "
                          "lower is better"),
    ("below-range", "metric 'fd_randcnn' = -1.0 lies outside its defined range"),
    ("nan-value", "metric 'fd_randcnn' is ok but its value is nan"),
    ("ok-without-value", "metric 'fd_randcnn' is ok but its value is None"),
    ("split-hash", "the record's test split has SHA-256 000000000000…"),
    ("config-other-method", "config names method 'dcgan' on task 'synthesis', but the record "
                            "is of 'gaussian'"),
    ("config-bad-seed", "config:"),
    ("metrics-a-list", "'metrics' must be an object, got list"),
    ("image-not-a-png", "image 'panel' is not a PNG"),
    ("image-not-base64", "image 'panel' is not base64"),
]


@pytest.mark.parametrize("change,reason", BAD_RECORDS, ids=[case[0] for case in BAD_RECORDS])
def test_import_rejects_a_bad_record_with_its_reason(runner, host, tmp_path: Path,
                                                     change: str, reason: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    record = tiny_run(runner, host, tmp_path)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "record.json").write_text(json.dumps(corrupt(record, change)))
    monkeypatch.setenv("MEDBENCH_RESULTS_DB", str(tmp_path / "other.sqlite"))
    result = runner.invoke(app, ["results", "import", str(folder)], obj=host,
                           terminal_width=400)
    assert result.exit_code == 1, result.output
    assert "rejected" in result.output and reason in result.output, result.output
    assert "Traceback" not in result.output
    with ResultStore() as store:
        assert store.runs() == []


def test_import_takes_good_records_from_a_folder_and_notes_what_it_cannot_check(
        runner, host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tiny_run(runner, host, tmp_path)
    unknown = copy.deepcopy(record)
    unknown["run_id"] = "made-elsewhere"
    unknown["dataset"]["name"] = "their-private-ct"
    # made by an older medbench (schema 2.4: no images) elsewhere
    unknown["schema_version"] = "2.4"
    del unknown["images"]
    (tmp_path / "runs" / "made-elsewhere").mkdir()
    (tmp_path / "runs" / "made-elsewhere" / "record.json").write_text(json.dumps(unknown))
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "record.json").write_text("{not json")
    monkeypatch.setenv("MEDBENCH_RESULTS_DB", str(tmp_path / "other.sqlite"))
    result = runner.invoke(app, ["results", "import", str(tmp_path / "runs")], obj=host,
                           terminal_width=400)
    assert result.exit_code == 1  # one of the three was rejected
    assert "2 imported, 1 rejected" in result.output
    assert "dataset 'their-private-ct' is not installed here: its hashes are unchecked" \
        in result.output
    with ResultStore() as store:
        assert {row["run_id"] for row in store.runs()} == {record["run_id"], "made-elsewhere"}
        assert {row["origin"] for row in store.runs()} == {"import"}
        assert store.record(record["run_id"]) == record


def test_records_travel_as_json_lines_and_import_checks_each_line(
        runner, host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tiny_run(runner, host, tmp_path)
    second = tiny_run(runner, host, tmp_path, "--seed", "1")
    out = tmp_path / "records.jsonl.gz"
    exported = runner.invoke(app, ["results", "export", "--out", str(out)], obj=host)
    assert exported.exit_code == 0 and "2 records written" in exported.output
    with gzip.open(out, "rt") as handle:
        lines = handle.read().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n" + json.dumps({"schema_version": "2.3"}) + "\n")
    monkeypatch.setenv("MEDBENCH_RESULTS_DB", str(tmp_path / "other.sqlite"))
    result = runner.invoke(app, ["results", "import", str(out), str(bad)], obj=host,
                           terminal_width=400)
    assert "3 imported, 1 rejected" in result.output and result.exit_code == 1
    assert f"{bad} record 2: rejected: missing key(s)" in result.output
    with ResultStore() as store:
        assert [store.record(r["run_id"]) for r in (first, second)] == [first, second]


@pytest.mark.parametrize("args,fragment", [
    (["results", "list", "--db", "{folder}"], "Cannot open the results database"),
    (["results", "show", "nothing-like-it"], "No stored run is 'nothing-like-it'"),
    (["results", "import", "{missing}"], "is not a regular file"),
    (["results", "import", "{folder}"], "No record.json under"),
    (["results", "export", "--out", "{folder}/x.tsv"], "--out must end in .csv, .parquet"),
    (["results", "export", "--out", "{missing}/x.jsonl.gz"], "Cannot write"),
    (["results", "export", "--out", "{missing}/x.csv"], "Cannot write"),
    (["results", "export", "--out", "{file}"], "exists; pass --overwrite"),
    (["results", "export", "--out", "x.csv", "--db", "{missing}/r.sqlite"],
     "No results database at"),
    (["leaderboard", "--db", "{missing}/r.sqlite"], "No results database at"),
    (["report", "--db", "{missing}/r.sqlite", "--out", "{missing}/site"],
     "No results database at"),
])
def test_bad_results_commands_fail_in_one_line(runner, host, tmp_path: Path, args: list[str],
                                               fragment: str) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "earlier.csv").write_text("kept")
    ResultStore().close()  # the default database exists, empty
    argv = [arg.replace("{folder}", str(tmp_path / "empty-folder"))
            .replace("{file}", str(tmp_path / "earlier.csv"))
            .replace("{missing}", str(tmp_path / "missing")) for arg in args]
    result = runner.invoke(app, argv, obj=host, terminal_width=400)
    assert result.exit_code == 1, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert (tmp_path / "earlier.csv").read_text() == "kept"
    assert not (tmp_path / "missing").exists()
