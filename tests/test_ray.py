"""`medbench sweep --executor ray`: runs as tasks on a real local Ray cluster, each record
stored exactly once, even when a worker is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medbench.cli import app
from medbench.store import ResultStore

TESTS = Path(__file__).parent


def test_a_sweep_on_a_local_ray_cluster_survives_a_worker_killed_mid_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    # The workers load what this test registers through MEDBENCH_PLUGINS, as any process of
    # the sweep would: the tiny dataset and a method that sleeps through training.
    monkeypatch.setenv("MEDBENCH_PLUGINS", "support:TinyDatasetPlugin,support:SlowMethodPlugin")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(TESTS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("SLOW_FIT_SECONDS", "3")
    out, db = tmp_path / "runs", tmp_path / "results.sqlite"
    driver = subprocess.Popen(
        [sys.executable, "-m", "medbench", "sweep", "--executor", "ray", "--methods",
         "slow", "--tasks", "synthesis", "--datasets", "tiny-phantom", "--seeds",
         "0,1", "--metrics", "fd_randcnn", "--out", str(out), "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "300"})
    victim = _first_training_run(out, driver)
    os.kill(victim["pid"], signal.SIGKILL)  # the Ray worker running it
    output, _ = driver.communicate(timeout=300)

    assert driver.returncode == 0, output
    assert "Ray at a local cluster, 1 CPU(s) per run" in output
    assert sum(line.startswith("ok ") for line in output.splitlines()) == 2, output
    # The killed run was retried on another worker; its first folder says why it stopped.
    assert f"Run {victim['folder'].name} of this experiment stopped unfinished" in output
    assert json.loads((victim["folder"] / "record.json").read_text())["status"]["state"] \
        == "interrupted"
    with ResultStore(db) as store:
        stored = store.records()
    assert len(stored) == 2 and {record["status"]["state"] for record in stored} == {"ok"}
    assert len({record["config"]["run_key"] for record in stored}) == 2  # no duplicates
    assert victim["folder"].name not in {record["run_id"] for record in stored}


def _first_training_run(out: Path, driver: subprocess.Popen[str]) -> dict:
    """The folder and process of the first slow run that has begun training."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert driver.poll() is None, driver.communicate()[0]
        for path in out.glob("*_slow_*/record.json"):
            try:
                record = json.loads(path.read_text())
            except ValueError:
                continue  # being written
            if record["status"]["state"] == "running" and \
                    record["timings"]["data_seconds"] is not None:
                return {"folder": path.parent, "pid": record["process"]["pid"]}
        time.sleep(0.1)
    driver.kill()
    raise AssertionError("no run started training on the Ray cluster")


def test_without_ray_the_executor_is_one_line_naming_the_extra(
        runner, host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as when not installed
    result = runner.invoke(app, ["sweep", "--executor", "ray", "--methods", "gaussian",
                                 "--tasks", "synthesis", "--out", str(tmp_path / "runs")],
                           obj=host, terminal_width=300)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--executor ray needs Ray, an optional extra: pip install 'medbench[ray]'" \
        in result.output
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, message", [
    (["--executor", "slurm"], "--executor must be one of local, ray"),
    (["--address", "10.0.0.1:6379"], "--address is for --executor ray"),
    (["--executor", "ray", "--cpus-per-run", "0"], "--cpus-per-run must be at least 1"),
])
def test_bad_executor_settings_are_one_line(runner, host, tmp_path: Path, args: list[str],
                                            message: str) -> None:
    result = runner.invoke(app, ["sweep", "--methods", "gaussian", "--tasks", "synthesis",
                                 "--out", str(tmp_path / "runs"), *args], obj=host,
                           terminal_width=300)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in result.output
