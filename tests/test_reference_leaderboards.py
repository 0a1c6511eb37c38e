"""The committed reference leaderboards are exactly what `medbench leaderboard` makes from
the committed records, and those records cover every built-in method on every task it
supports with three seeds. Nobody edits a leaderboard by hand."""

from __future__ import annotations

import re
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
    release = (FOLDER / "VERSION").read_text().strip()
    result = runner.invoke(app, ["leaderboard", "--records", str(RECORDS), "--format",
                                 "markdown,csv,latex", "--release", release,
                                 "--out", str(tmp_path)], obj=host)
    assert result.exit_code == 0, result.output
    made = {path.relative_to(tmp_path): path.read_bytes() for path in tmp_path.rglob("*")
            if path.is_file()}
    committed = {path.relative_to(TABLES): path.read_bytes() for path in TABLES.rglob("*")
                 if path.is_file()}
    assert sorted(made) == sorted(committed)
    for name, data in made.items():
        assert committed[name] == data, f"leaderboards/smoke/{name} differs: run " \
                                        f"`bash leaderboards/regenerate.sh --tables`"


def test_every_table_says_what_it_measured_and_shows_the_images_its_records_carry() -> None:
    records = [r for r in read_record_lines(RECORDS) if r["status"]["state"] == "ok"]
    with_images = {f"{r['task']['name']}--{r['dataset']['name']}--smoke.md"
                   for r in records if (r.get("images") or {}).get("panel")}
    for table in TABLES.glob("*.md"):
        text = table.read_text(encoding="utf-8")
        for key in ("leaderboard version", "data:", "image size", "images seen",
                    "evaluation n", "units", "budget: smoke: checks that methods work",
                    "code: medbench commit"):
            assert key in text, f"{table.name} does not state {key}"
        assert "/root/" not in text and "/home/" not in text, f"{table.name} names a path"
        if table.name in with_images:
            rows = [line for line in text.splitlines() if re.match(r"\| (\d+|—) \|", line)]
            images = [line for line in text.splitlines() if line.startswith("![")]
            assert len(images) >= len(rows) > 0, f"{table.name} hides images"
    size = sum(path.stat().st_size for path in FOLDER.rglob("*") if path.is_file())
    assert size < 8 * 2**20, f"leaderboards/ holds {size / 2**20:.1f} MiB"


# How each task's trivial baseline scores, per seed: a reference row, a floor the metric
# records beside the value, or chance.
BASELINES = {"synthesis": ("row", "gaussian"), "translation": ("row", "identity"),
             "translation-unpaired": ("row", "identity"), "reconstruction": ("row", "identity"),
             "conditional": ("row", "identity"), "segmentation": ("floor", "empty_prediction"),
             "vessel-segmentation": ("floor", "empty_prediction"), "anomaly": ("chance", 0.5),
             "lesion-synthesis": ("row", "identity")}
NOT_TRAINED = {"gaussian", "holdout", "train-copy", "identity", "copy-paste"}


def test_every_trained_method_beats_its_tasks_trivial_baseline_on_every_seed(host) -> None:
    """A method that cannot is a failure to investigate, not a row to publish."""
    records = [r for r in read_record_lines(RECORDS) if r["status"]["state"] == "ok"]
    primary = {task.name: task.primary_metric for task in host.registries.tasks}
    assert set(BASELINES) == set(primary), "say how each task's trivial baseline scores"
    baseline_rows = {(r["task"]["name"], r["config"]["seed"]): r for r in records
                     if r["method"]["name"] == BASELINES[r["task"]["name"]][1]}
    losing = []
    for record in records:
        task, method = record["task"]["name"], record["method"]["name"]
        if method in NOT_TRAINED:
            continue
        result = record["metrics"][primary[task]]
        kind, what = BASELINES[task]
        if kind == "row":
            floor = baseline_rows[(task, record["config"]["seed"])]["metrics"][primary[task]][
                "value"]
        elif kind == "floor":
            if what not in result["details"]:  # recorded since schema 2.5
                assert record["schema_version"] < "2.5", f"{method} on {task}: no {what}"
                continue
            floor = result["details"][what]
        else:
            floor = what
        better = result["value"] < floor if not result["higher_is_better"] else \
            result["value"] > floor
        if not better:
            losing.append(f"{method} on {task} seed {record['config']['seed']}: "
                          f"{primary[task]} {result['value']:.4g} against {floor:.4g}")
    assert losing == [], "; ".join(losing)


def test_every_trained_synthesis_method_is_as_precise_as_the_gaussian_on_every_seed() -> None:
    """Beating the Gaussian's FD is not enough: a collapsed model can. Its samples must
    also lie in the real images' manifold at least as often as the Gaussian's do."""
    records = [r for r in read_record_lines(RECORDS)
               if r["status"]["state"] == "ok" and r["task"]["name"] == "synthesis"]
    gaussian = {r["config"]["seed"]: r["metrics"]["precision_randcnn"]["value"]
                for r in records if r["method"]["name"] == "gaussian"}
    short = [f"{r['method']['name']} seed {r['config']['seed']}: "
             f"{r['metrics']['precision_randcnn']['value']:.3f}" for r in records
             if r["method"]["name"] not in NOT_TRAINED
             and r["metrics"]["precision_randcnn"]["value"] < gaussian[r["config"]["seed"]]]
    assert short == [], "; ".join(short)


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
