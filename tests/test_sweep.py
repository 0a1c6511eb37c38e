"""Sweeps: expansion with unsupported pairs noted, run keys that skip finished runs,
--force and --retry-failed, failures that never stop a sweep, TOML files, and workers in
separate processes with their share of the threads."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import ClassVar

import pytest

from medbench.api import SynthesisMethod, hookimpl
from medbench.cli import app
from medbench.run import sweep as sweep_module
from medbench.store import ResultStore

from support import SlowMethodPlugin, medbench_process, state_of, wait_for_training

BASE = ["sweep", "--budget", "tiny", "--datasets", "tiny-phantom"]


class Flaky(SynthesisMethod):
    """Fails its second run (seed 1 of a sweep), so one sweep holds ok and failed runs."""

    name: ClassVar[str] = "flaky"
    summary: ClassVar[str] = "fails its second run"
    calls: ClassVar[int] = 0

    def fit(self, train, val, context) -> None:
        Flaky.calls += 1
        if Flaky.calls == 2 and Flaky.fail_second:
            raise RuntimeError("flaky by design")
        context.count_images(len(train))

    def sample(self, n, labels, generator):
        import torch
        return torch.rand(n, 1, self.data.image_size, self.data.image_size,
                          generator=generator).to(self.device)

    fail_second: ClassVar[bool] = True


class FlakyPlugin:
    @hookimpl
    def register_methods(self, register):
        register(Flaky)


def sweep(runner, host, tmp_path: Path, *args: str):
    argv = [*BASE, "--out", str(tmp_path / "runs"), *args]
    return runner.invoke(app, argv, obj=host, terminal_width=300)


def test_a_sweep_runs_the_valid_combinations_and_notes_the_rest(runner, host,
                                                               tmp_path: Path) -> None:
    result = sweep(runner, host, tmp_path, "--methods", "gaussian,pix2pix", "--tasks",
                   "synthesis", "--seeds", "0,1")
    assert result.exit_code == 0, result.output
    assert "skipped pix2pix / synthesis / tiny-phantom: Method 'pix2pix' cannot run task " \
           "'synthesis'" in result.output
    assert "sweep: 2 runs, 2 to run, 0 already done" in result.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert sorted(r["config"]["seed"] for r in records) == [0, 1]
    assert len({r["config"]["run_key"] for r in records}) == 2  # the seed is in the key
    with ResultStore() as store:
        assert len(store.runs(method="gaussian", status="ok")) == 2


def test_finished_runs_are_skipped_until_forced(runner, host, tmp_path: Path) -> None:
    args = ("--methods", "gaussian", "--tasks", "synthesis", "--seeds", "0")
    assert sweep(runner, host, tmp_path, *args).exit_code == 0
    again = sweep(runner, host, tmp_path, *args)
    assert again.exit_code == 0 and "skip gaussian / synthesis / tiny-phantom seed 0: done" \
        in again.output
    assert "1 runs, 0 to run, 1 already done" in again.output
    assert len(list((tmp_path / "runs").iterdir())) == 1
    forced = sweep(runner, host, tmp_path, *args, "--force")
    assert forced.exit_code == 0 and "1 to run" in forced.output
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_a_failing_run_never_stops_the_sweep(runner, make_tiny_host, tmp_path: Path) -> None:
    host = make_tiny_host(FlakyPlugin())
    Flaky.calls, Flaky.fail_second = 0, True
    args = ("--methods", "flaky,gaussian", "--tasks", "synthesis", "--seeds", "0,1,2")
    result = sweep(runner, host, tmp_path, *args)
    assert result.exit_code == 1, result.output
    assert "failed flaky / synthesis / tiny-phantom seed 1: RuntimeError: flaky by design" \
        in result.output
    assert "│ 5  │ 0       │ 1      │" in result.output  # ok, skipped, failed
    # A failed run is not retried unless asked; then it is, and now it passes.
    Flaky.fail_second = False
    again = sweep(runner, make_tiny_host(FlakyPlugin()), tmp_path, *args)
    assert again.exit_code == 0 and "6 runs, 0 to run" in again.output
    retried = sweep(runner, make_tiny_host(FlakyPlugin()), tmp_path, *args, "--retry-failed")
    assert retried.exit_code == 0 and "6 runs, 1 to run" in retried.output


def test_a_sweep_file_gives_the_lists_and_options_win(runner, host, tmp_path: Path) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text('methods = ["gaussian"]\ntasks = ["synthesis"]\nseeds = [3, 4]\n'
                    'budget = "tiny"\ndatasets = ["tiny-phantom"]\n')
    result = runner.invoke(app, ["sweep", "--file", str(file), "--seeds", "5", "--out",
                                 str(tmp_path / "runs")], obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert record["config"]["seed"] == 5 and record["config"]["budget"] == "tiny"


def test_a_sweep_takes_metrics_and_gives_each_task_those_that_score_it(
        runner, host, tmp_path: Path) -> None:
    """'default' stands for each task's defaults; a name is given only to the tasks it
    scores (here memorization: synthesis, not anomaly)."""
    file = tmp_path / "sweep.toml"
    file.write_text('methods = ["gaussian"]\ntasks = ["synthesis"]\nbudget = "tiny"\n'
                    'datasets = ["tiny-phantom"]\nmetrics = ["default", "memorization"]\n')
    result = runner.invoke(app, ["sweep", "--file", str(file), "--out",
                                 str(tmp_path / "runs")], obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert record["config"]["metrics"] == ["default", "memorization"]
    assert {"memorization", "fd_randcnn"} <= set(record["metrics"])  # the defaults too
    plans = sweep_module.expand(
        sweep_module.Sweep(["gaussian", "autoencoder"], ["synthesis", "anomaly"],
                           ["tiny-phantom"], [0], "tiny", metrics=["default", "memorization"]),
        host.registries, tmp_path / "planned", [])
    assert {plan.spec.task: plan.spec.metrics for plan in plans} == {
        "synthesis": ["default", "memorization"], "anomaly": ["default"]}
    only = sweep(runner, host, tmp_path, "--methods", "gaussian", "--tasks", "synthesis",
                 "--metrics", "image_auroc")
    assert only.exit_code == 1, only.output
    assert "None of the sweep's metrics (image_auroc) scores task 'synthesis'" in only.output


@pytest.mark.parametrize("content,fragment", [
    ("methods = [", "is not valid TOML"),
    ('methods = ["gaussian"]\ncolour = "red"\n', "unknown key(s) colour"),
    ('methods = "gaussian"\n', "'methods' must be a list of names"),
    ('seeds = ["zero"]\n', "'seeds' must be a list of integers"),
    ('train_fraction = "half"\n', "'train_fraction' must be a number in (0, 1]"),
    ('metrics = "fid"\n', "'metrics' must be a list of names"),
])
def test_a_bad_sweep_file_fails_in_one_line(runner, host, tmp_path: Path, content: str,
                                            fragment: str) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text(content)
    result = runner.invoke(app, ["sweep", "--file", str(file)], obj=host, terminal_width=300)
    assert result.exit_code == 1 and fragment in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args,fragment", [
    (["--methods", "gausian", "--tasks", "synthesis"], "Unknown method 'gausian'"),
    (["--methods", "gaussian", "--tasks", "synthesis", "--seeds", "a,b"],
     "--seeds must be comma-separated integers"),
    (["--methods", "gaussian", "--tasks", "synthesis", "--workers", "0"],
     "--workers must be at least 1"),
    (["--tasks", "synthesis"], "A sweep needs at least one method"),
    (["--methods", "gaussian", "--tasks", "synthesis", "--metrics", "fd_randcn"],
     "Unknown metric 'fd_randcn'"),
])
def test_bad_sweep_options_fail_before_anything_runs(runner, host, tmp_path: Path,
                                                     args: list[str], fragment: str) -> None:
    result = sweep(runner, host, tmp_path, *args)
    assert result.exit_code == 1 and fragment in result.output, result.output
    assert not (tmp_path / "runs").exists()


def test_workers_run_in_processes_with_a_share_of_the_threads(
        runner, make_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep_module.os, "cpu_count", lambda: 4)
    assert sweep_module.threads_per_worker(2) == 2 and sweep_module.threads_per_worker(8) == 1
    # Workers load the installed plugins, so this uses the real phantom at the smoke budget
    # with the closed-form gaussian method and one cheap metric.
    result = runner.invoke(app, ["sweep", "--methods", "gaussian", "--tasks", "synthesis",
                                 "--seeds", "0,1", "--workers", "2", "--metrics", "fd_randcnn",
                                 "--out", str(tmp_path / "runs")], obj=make_host(),
                           terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "2 worker(s), 2 threads each" in result.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert sorted(r["config"]["seed"] for r in records) == [0, 1]
    assert {r["environment"]["cpu_threads"] for r in records} == {2}
    assert all(r["status"]["state"] == "ok" for r in records)


# --- sweeps that share a database, and sweeps that were killed --------------------------

def _sweep_process(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """A real `medbench sweep` in its own process, on the tiny dataset and budget."""
    return medbench_process(*BASE, "--tasks", "synthesis", "--out", str(tmp_path / "runs"),
                            "--db", str(tmp_path / "shared.sqlite"), *args)


def test_two_sweeps_on_one_database_run_each_experiment_once(tmp_path: Path,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("SLOW_FIT_SECONDS", "3")  # each run takes 3 s: the sweeps overlap
    args = ("--methods", "slow", "--seeds", "0,1,2,3", "--metrics", "fd_randcnn")
    first = _sweep_process(tmp_path, *args)
    time.sleep(2)
    second = _sweep_process(tmp_path, *args)
    outputs = [process.communicate(timeout=300)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    with ResultStore(tmp_path / "shared.sqlite") as store:
        runs = store.runs()
    assert sorted(run["seed"] for run in runs) == [0, 1, 2, 3]  # 4 rows for 4 keys
    assert {run["status"] for run in runs} == {"ok"}
    assert len(list((tmp_path / "runs").glob("*/record.json"))) == 4
    # They shared the work: each skipped what the other was running.
    assert all("skipped     slow / synthesis / tiny-phantom seed" in output
               and "running in process" in output for output in outputs), outputs


def test_a_claim_is_refused_while_its_process_lives_and_taken_over_once_it_is_gone(
        tmp_path: Path) -> None:
    me = {"host": "here", "pid": 1, "start_ticks": "1"}
    other = {"host": "here", "pid": 2, "start_ticks": "2"}
    with ResultStore(tmp_path / "db.sqlite") as store:
        assert store.claim("key", me, lambda owner: False, frozenset({"ok"})) is None
        assert store.claim("key", other, lambda owner: False, frozenset({"ok"})) == \
            "running in process 1 on here"
        assert store.claim("key", other, lambda owner: True, frozenset({"ok"})) is None
        store.release("key", me)  # not its claim any more: nothing changes
        assert store.claim("key", me, lambda owner: False, frozenset()) == \
            "running in process 2 on here"
        store.release("key", other)
        assert store.claim("key", me, lambda owner: False, frozenset()) is None


def test_a_killed_sweeps_run_is_settled_and_stored_by_the_next_sweep(
        runner, make_tiny_host, tmp_path: Path) -> None:
    killed = _sweep_process(tmp_path, "--methods", "slow", "--metrics", "fd_randcnn")
    folder = wait_for_training(tmp_path / "runs", killed)
    killed.kill()
    killed.wait(timeout=30)
    assert state_of(folder)["state"] == "running"

    result = sweep(runner, make_tiny_host(), tmp_path, "--methods", "gaussian", "--tasks",
                   "synthesis", "--metrics", "fd_randcnn", "--db",
                   str(tmp_path / "shared.sqlite"))
    assert result.exit_code == 0, result.output
    assert f"{folder.name} was left `running`" in result.output
    assert state_of(folder)["state"] == "interrupted"
    with ResultStore(tmp_path / "shared.sqlite") as store:
        stored = {run["method"]: run["status"] for run in store.runs()}
    assert stored == {"slow": "interrupted", "gaussian": "ok"}
    # --db reaches the runs through their plans: the process's default is left alone.
    assert os.environ["MEDBENCH_RESULTS_DB"] == str(tmp_path / "results.sqlite")
    assert not (tmp_path / "results.sqlite").exists()


def test_a_run_over_its_time_limit_fails_alone_and_the_sweep_goes_on(
        runner, make_tiny_host, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SLOW_FIT_SECONDS", "60")  # the slow method would sleep a minute
    host = make_tiny_host(SlowMethodPlugin())
    result = sweep(runner, host, tmp_path, "--methods", "slow,gaussian", "--tasks",
                   "synthesis", "--metrics", "fd_randcnn", "--time-limit", "2")
    assert result.exit_code == 1, result.output
    records = {r["method"]["name"]: r for r in (json.loads(p.read_text()) for p in
                                                (tmp_path / "runs").glob("*/record.json"))}
    slow, fine = records["slow"], records["gaussian"]
    assert slow["status"]["state"] == "failed"
    assert slow["status"]["reason"] == ("TimeLimitExceeded: exceeded its time limit of 2 s "
                                        "(--time-limit)")
    assert slow["config"]["time_limit"] == 2 and "--time-limit 2" in slow["config"]["command"]
    assert slow["timings"]["total_seconds"] < 30
    [folder] = [p.parent for p in (tmp_path / "runs").glob("*slow*/record.json")]
    assert "TimeLimitExceeded" in (folder / "error.log").read_text()
    assert fine["status"]["state"] == "ok"  # the limit is per run, and the sweep went on


class _Misbehaving(SynthesisMethod):
    summary: ClassVar[str] = "misbehaves on purpose"

    def fit(self, train, val, context) -> None:
        context.count_images(len(train))

    def sample(self, n, labels, generator):
        import torch
        return torch.rand(n, 1, self.data.image_size, self.data.image_size, generator=generator)


class Raises(_Misbehaving):
    name: ClassVar[str] = "raises"

    def fit(self, train, val, context) -> None:
        raise ZeroDivisionError("by design")


class ReturnsNaN(_Misbehaving):
    name: ClassVar[str] = "returns-nan"

    def sample(self, n, labels, generator):
        return super().sample(n, labels, generator) * float("nan")


class ReturnsWrongShape(_Misbehaving):
    name: ClassVar[str] = "returns-wrong-shape"

    def sample(self, n, labels, generator):
        return super().sample(n, labels, generator)[:, :, :8]


class MisbehavingPlugin:
    @hookimpl
    def register_methods(self, register):
        for method in (Raises, ReturnsNaN, ReturnsWrongShape):
            register(method)


def test_misbehaving_plugins_fail_alone_and_the_sweep_goes_on(runner, make_tiny_host,
                                                            tmp_path: Path) -> None:
    host = make_tiny_host(MisbehavingPlugin())
    result = sweep(runner, host, tmp_path, "--methods",
                   "raises,returns-nan,returns-wrong-shape,gaussian", "--tasks", "synthesis",
                   "--metrics", "fd_randcnn")
    assert result.exit_code == 1, result.output
    records = {}
    for path in (tmp_path / "runs").glob("*/record.json"):
        records[json.loads(path.read_text())["method"]["name"]] = path.parent
    reasons = {"raises": "ZeroDivisionError: by design", "returns-nan": "finite",
               "returns-wrong-shape": "expected (40, 1, 32, 32)"}
    for method, reason in reasons.items():
        record = json.loads((records[method] / "record.json").read_text())
        assert record["status"]["state"] == "failed" and reason in record["status"]["reason"]
        assert "\n" not in record["status"]["reason"]
        assert (records[method] / "error.log").read_text().startswith("Traceback")
    ok = json.loads((records["gaussian"] / "record.json").read_text())
    assert ok["status"]["state"] == "ok"
