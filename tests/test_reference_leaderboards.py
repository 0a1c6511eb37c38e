"""The committed reference leaderboards are exactly what `medbench leaderboard` makes from
the committed records, and those records cover every built-in method on every task it
supports with three seeds. Nobody edits a leaderboard by hand."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from medbench.cli import app
from medbench.host.registry import BUILTIN_DISTRIBUTION
from medbench.run.runner import supported_tasks
from medbench.store.record_files import read_record_lines

FOLDER = Path(__file__).resolve().parents[1] / "leaderboards"
RECORDS = FOLDER / "records.jsonl.gz"
TABLES = FOLDER / "smoke"
SEEDS = {0, 1, 2}


def test_committed_tables_are_what_the_command_makes_from_committed_records(
        runner, host, tmp_path: Path) -> None:
    result = runner.invoke(app, ["leaderboard", "--records", str(RECORDS), "--format",
                                 "markdown,csv,latex", "--out", str(tmp_path)], obj=host)
    assert result.exit_code == 0, result.output
    made = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    committed = {path.name: path.read_text(encoding="utf-8") for path in TABLES.iterdir()}
    assert sorted(made) == sorted(committed)
    for name, text in made.items():
        assert committed[name] == text, f"leaderboards/smoke/{name} differs: run " \
                                        f"`bash leaderboards/regenerate.sh --tables`"


def test_records_cover_every_builtin_method_on_every_task_with_three_seeds(host) -> None:
    registries = host.registries
    records = [r for r in read_record_lines(RECORDS) if r["status"]["state"] == "ok"]
    seeds = Counter()
    for record in records:
        assert record["config"]["budget"] == "smoke"
        seeds[(record["method"]["name"], record["task"]["name"], record["dataset"]["name"],
               record["config"]["seed"])] += 1
    tasks = list(registries.tasks)
    missing = []
    for entry in registries.methods.entries():
        if entry.origin.distribution != BUILTIN_DISTRIBUTION:
            continue
        for task_name in supported_tasks(entry.value, tasks):
            dataset = registries.tasks.get(task_name).default_dataset
            missing += [f"{entry.name} / {task_name} / {dataset} seed {seed}"
                        for seed in sorted(SEEDS)
                        if not seeds[(entry.name, task_name, dataset, seed)]]
    assert missing == [], "not in leaderboards/records.jsonl.gz: " + "; ".join(missing)
