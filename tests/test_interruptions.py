"""A run folder always holds a record: killed, terminated or interrupted runs say so."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from medbench.cli import app

from support import state_of, wait_for_training


def start_run(out: Path) -> subprocess.Popen[str]:
    """A real smoke DCGAN run in its own process (about a minute of training)."""
    return subprocess.Popen(
        [sys.executable, "-m", "medbench", "run", "--method", "dcgan", "--task", "synthesis",
         "--device", "cpu", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_run_killed_with_sigkill_is_later_recorded_as_interrupted(
        runner, host, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    process = start_run(out)
    folder = wait_for_training(out, process)
    time.sleep(random.uniform(0.2, 3.0))  # somewhere in the first part of training
    process.kill()
    process.wait(timeout=30)
    assert state_of(folder)["state"] == "running"  # nobody could say otherwise yet

    # Any later command that touches the folder sees that its process is gone.
    result = runner.invoke(app, ["evaluate", str(folder)], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    status = state_of(folder)
    assert status["state"] == "interrupted"
    assert f"its process {process.pid}" in status["reason"]


def test_sigterm_interrupts_a_run_like_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    process = start_run(out)
    folder = wait_for_training(out, process)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("interrupted:")]
    assert len(lines) == 1 and str(folder / "record.json") in output.replace("\n", "")
    status = state_of(folder)
    assert status == {"state": "interrupted", "reason": "terminated by SIGTERM",
                      "step": status["step"]}
    assert status["step"] is not None and status["step"] > 0


def test_a_later_run_settles_orphans_in_its_output_folder(runner, host, tiny_args,
                                                          tmp_path: Path) -> None:
    orphan = tmp_path / "runs" / "20260101-000000_dcgan_synthesis_phantom_smoke_s0"
    orphan.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    record = {"schema_version": "2.0", "status": {"state": "running", "reason": None,
                                                  "step": None},
              "process": {"host": os.uname().nodename, "pid": int(dead.stdout),
                          "start_ticks": "1"}}
    (orphan / "record.json").write_text(json.dumps(record))
    result = runner.invoke(app, tiny_args("gaussian"), obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "its record now says interrupted" in result.output
    assert state_of(orphan)["state"] == "interrupted"


def test_ctrl_c_prints_one_line_with_the_record(runner, make_tiny_host, tiny_args,
                                                tmp_path: Path) -> None:
    from typing import ClassVar

    from medbench.api import SynthesisMethod, hookimpl

    class Interrupting(SynthesisMethod):
        name: ClassVar[str] = "interrupting"
        summary: ClassVar[str] = "raises KeyboardInterrupt in fit"

        def fit(self, train, val, context):
            for step, _ in enumerate(context.batches(train, 8)):
                if step == 2:
                    raise KeyboardInterrupt

        def sample(self, n, labels, generator):
            raise AssertionError

    class Plugin:
        @hookimpl
        def register_methods(self, register):
            register(Interrupting)

    result = runner.invoke(app, tiny_args("interrupting"), obj=make_tiny_host(Plugin()))
    assert result.exit_code == 130, result.output
    [folder] = (tmp_path / "runs").iterdir()
    assert f"interrupted: interrupted by the user. Record: {folder / 'record.json'}" in \
        result.output.replace("\n", "")
    assert state_of(folder)["state"] == "interrupted"
