"""The CLI: help everywhere, listings, and a clear one-line error for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from medbench.api import Method, hookimpl
from medbench.cli import app


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("command", [[], ["run"], ["rerun"], ["evaluate"], ["list"], ["card"],
                                     ["plugins"], ["datasets"], ["datasets", "info"],
                                     ["datasets", "manifest"]])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_everywhere(runner, command: list[str], flag: str) -> None:
    result = runner.invoke(app, [*command, flag])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_python_dash_m_works() -> None:
    done = subprocess.run([sys.executable, "-m", "medbench", "--help"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout and "list" in done.stdout


def test_python_dash_m_starts_nothing_when_a_spawned_worker_imports_it() -> None:
    """A worker started with "spawn" (the radiomics space's) runs the parent's main module
    as __mp_main__; under `python -m medbench` it must not start a second run."""
    done = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_module("
                           "'medbench', run_name='__mp_main__', alter_sys=True)", "run"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


@pytest.mark.parametrize("kind,expected", [
    ("methods", ["dcgan", "gaussian", "holdout", "synthesis"]),
    ("tasks", ["synthesis", "phantom", "dcgan", "SynthesisMethod", "fd_randcnn"]),
    ("datasets", ["phantom", "train 5000", "test 1500", "mask (mask)"]),
    ("metrics", ["fd_randcnn", "kid_randcnn", "fid", "lower", "SynthesisInputs",
                 "inception_weights", "expensive"]),
])
def test_list(runner, host, kind: str, expected: list[str]) -> None:
    result = runner.invoke(app, ["list", kind], obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    for word in expected:
        assert word in result.output


def test_list_rejects_an_unknown_kind(runner) -> None:
    result = runner.invoke(app, ["list", "models"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_plugins_lists_distribution_version_and_hooks(runner, host) -> None:
    result = runner.invoke(app, ["plugins"], obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "dcgan" in result.output and "register_methods" in result.output
    assert "medbench" in result.output and "register_metrics" in result.output


def test_dataset_card(runner, host) -> None:
    result = runner.invoke(app, ["datasets", "info", "phantom"], obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "digital phantom" in result.output and "sha256" in result.output


class SegmentOnly(Method):
    name: ClassVar[str] = "segment-only"
    summary: ClassVar[str] = "implements no installed task's protocol"

    def fit(self, train, val, context):
        pass


class SegmentOnlyPlugin:
    @hookimpl
    def register_methods(self, register):
        register(SegmentOnly)


@pytest.mark.parametrize("args,fragments", [
    (["--method", "dcgn", "--task", "synthesis"], ["Unknown method 'dcgn'", "Did you mean: dcgan"]),
    (["--method", "dcgan", "--task", "synthesys"], ["Unknown task 'synthesys'", "synthesis"]),
    (["--method", "dcgan", "--task", "synthesis", "--dataset", "phantm"],
     ["Unknown dataset 'phantm'", "Did you mean: phantom"]),
    (["--method", "dcgan", "--task", "synthesis", "--budget", "huge"],
     ["Unknown budget 'huge'", "smoke"]),
    (["--method", "dcgan", "--task", "synthesis", "--set", "lr"], ["Bad --set 'lr'", "key=value"]),
    (["--method", "dcgan", "--task", "synthesis", "--set", "lrr=1"],
     ["Bad --set 'lrr'", "Did you mean: lr"]),
    (["--method", "dcgan", "--task", "synthesis", "--set", "batch_size=big"],
     ["batch_size=big", "int"]),
    (["--method", "dcgan", "--task", "synthesis", "--set", "batch_size=0"],
     ["batch_size must lie in [1, 4096]"]),
    (["--method", "dcgan", "--task", "synthesis", "--seed", "-1"],
     ["Seed must be an integer from 0"]),
    (["--method", "dcgan", "--task", "synthesis", "--device", "tpu"], ["'tpu'", "cpu"]),
    (["--method", "dcgan", "--task", "synthesis", "--inception-weights", "/nonexistent.pth"],
     ["/nonexistent.pth is not a file", "Bad --metric-option for metric"]),
    (["--method", "dcgan", "--task", "synthesis", "--metrics", "fd_rndcnn"],
     ["Unknown metric 'fd_rndcnn'", "Did you mean: fd_randcnn"]),
    (["--method", "dcgan", "--task", "synthesis", "--metrics", ","], ["--metrics is empty"]),
    (["--method", "dcgan", "--task", "synthesis", "--metric-option", "fid"],
     ["Bad --metric-option 'fid'", "METRIC.KEY=VALUE"]),
    (["--method", "dcgan", "--task", "synthesis", "--metric-option", "fid.weights=x"],
     ["Bad --metric-option 'weights'", "metric 'fid' has no such setting",
      "Did you mean: inception_weights"]),
    (["--method", "dcgan", "--task", "synthesis", "--metrics", "fd_randcnn",
      "--metric-option", "fid.inception_weights=x"], ["metric 'fid' is not selected"]),
    (["--method", "dcgan", "--task", "synthesis", "--metric-option", "fdd.x=1"],
     ["Unknown metric 'fdd'"]),
    (["--method", "[red]dcgan", "--task", "synthesis"], ["Unknown method '[red]dcgan'"]),
])
def test_run_errors(runner, host, tmp_path: Path, args: list[str],
                    fragments: list[str]) -> None:
    result = runner.invoke(app, ["run", *args, "--out", str(tmp_path / "runs")], obj=host)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "runs").exists()  # rejected before anything was written


def test_unavailable_device(runner, host, tmp_path: Path) -> None:
    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    result = runner.invoke(app, ["run", "--method", "dcgan", "--task", "synthesis",
                                 "--device", device, "--out", str(tmp_path)], obj=host)
    assert_one_line_error(result, f"Device '{device}'")


def test_method_that_does_not_support_the_task(runner, make_host, tmp_path: Path) -> None:
    host = make_host(SegmentOnlyPlugin())
    result = runner.invoke(app, ["run", "--method", "segment-only", "--task", "synthesis",
                                 "--out", str(tmp_path)], obj=host)
    assert_one_line_error(result, "cannot run task 'synthesis'", "needs a SynthesisMethod",
                          "It can run: no task")


def test_unwritable_output_folder(runner, host, tmp_path: Path, tiny_args) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    args = tiny_args("gaussian")
    args[args.index("--out") + 1] = str(blocker / "runs")
    result = runner.invoke(app, args, obj=host)
    assert_one_line_error(result, "Cannot write the run folder", "--out")


def test_rerun_of_a_missing_record(runner, host, tmp_path: Path) -> None:
    result = runner.invoke(app, ["rerun", str(tmp_path / "nothing.json")], obj=host)
    assert_one_line_error(result, "Cannot read a run configuration")
