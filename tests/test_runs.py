"""Whole runs on the tiny dataset: the record, artifacts, reruns, failure paths (every
method on every task: test_every_method.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from medbench.api import SynthesisMethod, hookimpl
from medbench.cli import app


def only_run_folder(out: Path) -> Path:
    folders = list(out.iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def test_dcgan_uses_the_whole_budget_and_logs_losses(runner, host, tiny_args,
                                                     tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("dcgan", "--set", "batch_size=16",
                                          "--set", "width=8", "--metrics", "fd_randcnn"),
                           obj=host)
    assert result.exit_code == 0, result.output
    folder = only_run_folder(tmp_path / "runs")
    record = json.loads((folder / "record.json").read_text())
    assert record["training"]["images_seen"] == 256 and record["training"]["steps"] == 16
    assert set(record["training"]["final_losses"]) == {"loss_d", "loss_g"}
    assert record["config"]["method_config"]["width"] == 8
    assert record["config"]["overrides"] == {"batch_size": "16", "width": "8"}
    assert "--set batch_size=16" in record["config"]["command"]
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=False)
    assert "generator" in checkpoint["state_dict"]


def test_rerun_from_the_record_reproduces_the_metrics(runner, host, tiny_args,
                                                      tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("dcgan", "--set", "width=8", "--seed", "5"),
                           obj=host)
    assert result.exit_code == 0, result.output
    first = only_run_folder(tmp_path / "runs")
    again = tmp_path / "again"
    result = runner.invoke(app, ["rerun", str(first), "--out", str(again)], obj=host)
    assert result.exit_code == 0, result.output
    one = json.loads((first / "record.json").read_text())
    two = json.loads((only_run_folder(again) / "record.json").read_text())
    assert one["config"] == two["config"]
    for name in ("fd_randcnn", "kid_randcnn"):
        assert two["metrics"][name]["value"] == pytest.approx(one["metrics"][name]["value"],
                                                              rel=1e-5)


def test_reference_features_are_computed_once_then_read_from_the_cache(
        runner, host, tiny_args, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbench.metrics.features.random_cnn import RandomCNNExtractor

    monkeypatch.setenv("MEDBENCH_CACHE", str(tmp_path / "fresh-cache"))
    extracted: list[int] = []
    real_extract = RandomCNNExtractor.extract

    def counting_extract(self, images, device, bar):
        extracted.append(len(images))
        return real_extract(self, images, device, bar)

    monkeypatch.setattr(RandomCNNExtractor, "extract", counting_extract)
    values = []
    for _ in range(2):
        result = runner.invoke(app, tiny_args("holdout", "--metrics", "fd_randcnn"), obj=host)
        assert result.exit_code == 0, result.output
        values.append(json.loads(sorted((tmp_path / "runs").glob("*/record.json"))[-1]
                                 .read_text())["metrics"]["fd_randcnn"]["value"])
    # First run: the 48 real test images and the 40 generated ones; second: generated only.
    assert extracted == [48, 40, 40]
    assert values[0] == values[1]
    cached = list((tmp_path / "fresh-cache" / "reference-features").glob(
        "images-*/randcnn-v2-*.pt"))
    assert len(cached) == 1 and torch.load(cached[0])["features"].shape == (48, 512)


def test_full_fid_path_with_random_inception_weights(runner, host, tiny_args,
                                                     inception_checkpoint: Path,
                                                     tmp_path: Path) -> None:
    args = tiny_args("gaussian", "--inception-weights", str(inception_checkpoint))
    result = runner.invoke(app, args, obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads((only_run_folder(tmp_path / "runs") / "record.json").read_text())
    for name in ("fid", "kid_inception"):
        metric = record["metrics"][name]
        assert metric["status"] == "ok", metric
        assert math.isfinite(metric["value"])
        assert metric["details"]["official_weights"] is False
        assert metric["details"]["dims"] == 2048
    assert record["config"]["metric_options"] == {
        "*": {"inception_weights": str(inception_checkpoint)}}
    assert record["metrics"]["fid"]["options"] == {"inception_weights": str(inception_checkpoint)}
    assert record["metrics"]["fd_randcnn"]["options"] == {}
    assert f"*.inception_weights={inception_checkpoint}" in record["config"]["command"]
    # Random weights are not the official ones: valid numbers, flagged as not comparable.
    for name in ("fid", "kid_inception"):
        assert record["metrics"][name]["comparable"] is False
        assert "not pytorch-fid's official ones" in record["metrics"][name]["caveat"]
        assert f"Notice: {name}: computed with Inception weights that are not" in \
            result.output.replace("\n", " ")
    assert record["metrics"]["fd_randcnn"]["comparable"] is True
    assert "not comparable" in result.output


class Exploding(SynthesisMethod):
    """Its loss turns to NaN at the third step."""

    name: ClassVar[str] = "exploding"
    summary: ClassVar[str] = "diverges on purpose"

    def fit(self, train, val, context):
        for step, _ in enumerate(context.batches(train, 8), start=1):
            context.log(loss=float("nan") if step == 3 else 1.0 / step)

    def sample(self, n, labels, generator):
        raise AssertionError("a diverged method must never be sampled")


class Crashing(Exploding):
    name: ClassVar[str] = "crashing"

    def fit(self, train, val, context):
        raise RuntimeError("out of cheese")


class WrongShape(Exploding):
    name: ClassVar[str] = "wrong-shape"

    def fit(self, train, val, context):
        pass

    def sample(self, n, labels, generator):
        return torch.zeros(n, 3, 8, 8)


class BadMethods:
    @hookimpl
    def register_methods(self, register):
        for method in (Exploding, Crashing, WrongShape):
            register(method)


@pytest.fixture
def bad_host(make_tiny_host):
    return make_tiny_host(BadMethods())


def test_divergence_stops_the_run_and_is_recorded(runner, bad_host, tiny_args,
                                                  tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("exploding", "--metrics", "fd_randcnn"), obj=bad_host)
    assert result.exit_code == 3, result.output
    assert "diverged" in result.output and "step 3" in result.output
    assert "Traceback" not in result.output
    folder = only_run_folder(tmp_path / "runs")
    record = json.loads((folder / "record.json").read_text())
    assert record["status"]["state"] == "diverged"
    assert record["status"]["step"] == 3
    assert "loss 'loss' became nan" in record["status"]["reason"]
    assert record["metrics"] == {}
    assert record["training"]["images_seen"] == 24
    assert not (folder / "samples.png").exists() and not (folder / "checkpoint.pt").exists()


def test_a_crash_in_training_is_recorded_not_lost(runner, bad_host, tiny_args,
                                                  tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("crashing", "--metrics", "fd_randcnn"), obj=bad_host)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "RuntimeError: out of cheese" in result.output
    folder = only_run_folder(tmp_path / "runs")
    assert f"Full error: {folder / 'error.log'}" in result.output.replace("\n", "")
    record = json.loads((folder / "record.json").read_text())
    assert record["status"]["state"] == "failed"
    assert "out of cheese" in (folder / "error.log").read_text()


def test_samples_of_the_wrong_shape_fail_clearly(runner, bad_host, tiny_args,
                                                 tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("wrong-shape", "--metrics", "fd_randcnn"), obj=bad_host)
    assert result.exit_code == 1, result.output
    record = json.loads((only_run_folder(tmp_path / "runs") / "record.json").read_text())
    assert record["status"]["state"] == "failed"
    assert "shape (40, 3, 8, 8), expected (40, 1, 32, 32)" in record["status"]["reason"]
    # Training finished before sampling failed: its checkpoint is kept.
    assert record["artifacts"]["checkpoint"] == "checkpoint.pt"
