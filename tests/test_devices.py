"""Devices: out of memory is a failed run with a one-line reason; the CUDA path runs where a
GPU exists and is skipped cleanly where none does."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from medbench.api import SynthesisMethod, hookimpl
from medbench.cli import app
from medbench.record.spec import RunSpec
from medbench.report.leaderboards import row_label
from medbench.run.runner import plan_run

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@dataclass
class GreedyConfig:
    batch_size: int = 4096


class Greedy(SynthesisMethod):
    """Runs out of memory the way torch reports it on a GPU."""

    name: ClassVar[str] = "greedy"
    summary: ClassVar[str] = "asks for more memory than there is"
    Config: ClassVar[type] = GreedyConfig

    def fit(self, train, val, context) -> None:
        raise torch.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 96.00 GiB. GPU 0 has a total capacity of "
            "79.19 GiB of which 3.19 GiB is free.\nOf the allocated memory ...")

    def sample(self, n, labels, generator):
        raise AssertionError("never sampled")


class GreedyPlugin:
    @hookimpl
    def register_methods(self, register):
        register(Greedy)


def test_out_of_memory_is_a_failed_run_with_a_one_line_reason(runner, make_tiny_host,
                                                              tiny_args, tmp_path: Path):
    result = runner.invoke(app, tiny_args("greedy"), obj=make_tiny_host(GreedyPlugin()),
                           terminal_width=300)
    assert result.exit_code == 1 and "Traceback" not in result.output
    [record_path] = (tmp_path / "runs").glob("*/record.json")
    status = json.loads(record_path.read_text())["status"]
    assert status["state"] == "failed" and "\n" not in status["reason"]
    assert status["reason"].startswith("out of memory on cpu (CUDA out of memory. Tried to "
                                       "allocate 96.00 GiB.")
    assert "--set batch_size=N with a smaller N" in status["reason"]
    assert "torch.OutOfMemoryError" in (record_path.parent / "error.log").read_text()


def test_a_cuda_device_that_is_not_there_is_one_line_and_no_run(runner, host, tiny_args,
                                                                tmp_path: Path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    result = runner.invoke(app, [*tiny_args("gaussian"), "--device", "cuda"], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Device 'cuda' is not available on this machine" in result.output
    assert not (tmp_path / "runs").exists()


@needs_cuda
def test_a_run_on_cuda_records_the_device_and_its_memory_peak(runner, host, tiny_args,
                                                              tmp_path: Path):
    result = runner.invoke(app, [*tiny_args("dcgan"), "--device", "cuda"], obj=host)
    assert result.exit_code == 0, result.output
    [record_path] = (tmp_path / "runs").glob("*/record.json")
    record = json.loads(record_path.read_text())
    assert record["environment"]["device"].startswith("cuda")
    assert record["training"]["peak_memory_kind"].startswith("CUDA memory allocated")
    assert record["training"]["peak_memory_bytes"] > 0


@pytest.mark.parametrize("precision", ["bf16", "16-mixed"])
def test_a_method_that_opted_in_trains_at_lower_precision_and_says_so(
        runner, host, tiny_args, tmp_path: Path, precision: str) -> None:
    # A narrow DCGAN: a CPU emulates bfloat16 and float16 convolutions slowly, and what is
    # checked here is the record, not what the network learns.
    narrow = ("--set", "width=8")
    result = runner.invoke(app, [*tiny_args("dcgan", *narrow), "--precision", precision],
                           obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    [record_path] = (tmp_path / "runs").glob("*/record.json")
    record = json.loads(record_path.read_text())
    assert record["config"]["precision"] == precision
    assert f"--precision {precision}" in record["config"]["command"]
    assert record["status"]["state"] == "ok"
    assert row_label(record) == f"dcgan (width=8, precision={precision})"
    plain = runner.invoke(app, tiny_args("dcgan", *narrow), obj=host, terminal_width=300)
    assert plain.exit_code == 0
    keys = {json.loads(p.read_text())["config"]["run_key"]
            for p in (tmp_path / "runs").glob("*/record.json")}
    assert len(keys) == 2  # another experiment than the float32 run


def test_a_method_that_did_not_opt_in_is_refused_in_one_line(runner, host, tiny_args,
                                                             tmp_path: Path) -> None:
    result = runner.invoke(app, [*tiny_args("wgan-gp"), "--precision", "bf16"], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "trains at precision 32 only, not bf16: it has not opted in" in result.output
    bad = runner.invoke(app, [*tiny_args("dcgan"), "--precision", "8"], obj=host)
    assert bad.exit_code == 1 and "--precision must be one of 32, bf16, 16-mixed" in bad.output
    assert not (tmp_path / "runs").exists()


def test_compile_runs_the_networks_compiled_and_the_record_says_so(
        runner, host, tiny_args, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TorchDynamo really traces the networks; only inductor's C++ code generation (a
    # minute of compiling on a CPU) is swapped for the eager backend.
    compiled, compile_ = [], torch.compile

    def eager_compile(module: torch.nn.Module) -> object:
        compiled.append(type(module).__name__)
        return compile_(module, backend="eager")

    monkeypatch.setattr(torch, "compile", eager_compile)
    narrow = ("--set", "width=8")
    result = runner.invoke(app, [*tiny_args("dcgan", *narrow), "--compile"], obj=host,
                           terminal_width=300)
    assert result.exit_code == 0, result.output
    assert compiled == ["Generator", "Discriminator"]
    [folder] = (tmp_path / "runs").glob("*/")
    record = json.loads((folder / "record.json").read_text())
    assert record["config"]["compile"] is True and "--compile" in record["config"]["command"]
    assert record["training"]["compiled_modules"] == 2
    assert row_label(record) == "dcgan (width=8, compile)"
    state = torch.load(folder / "checkpoint.pt", weights_only=True)["state_dict"]
    assert not any("_orig_mod" in key for key in state["generator"])  # loads uncompiled
    spec = RunSpec.from_dict(record["config"])
    assert plan_run(spec, host.registries).run_key == record["config"]["run_key"]
    plain = plan_run(dataclasses.replace(spec, compile=False), host.registries)
    assert plain.run_key != record["config"]["run_key"]  # another experiment


def test_compile_is_refused_in_one_line_for_a_method_that_did_not_opt_in(
        runner, host, tiny_args, tmp_path: Path) -> None:
    result = runner.invoke(app, [*tiny_args("wgan-gp"), "--compile"], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot train with --compile: it has not opted in" in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()
