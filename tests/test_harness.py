"""What the harness owns: seeding, the metric loop, metric options, rescoring, the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from medbench.api import (
    Field,
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
    SplitArrays,
    SynthesisInputs,
    SynthesisMethod,
    atomic_write,
    hookimpl,
)
from medbench.cli import app
from medbench.record.spec import RunSpec

from support import TinyPhantom


def records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*/record.json"))]


# --- seeding -------------------------------------------------------------------------------

class RandomWhenUncached(TinyPhantom):
    """Draws from every global random stream, but only on its first build (an empty cache)."""

    name: ClassVar[str] = "random-when-uncached"
    built = False

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        if not RandomWhenUncached.built:
            RandomWhenUncached.built = True
            torch.rand(1000)
            np.random.rand(1000)
        return super().build(cache_dir)


class RandomDatasetPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(RandomWhenUncached())


def test_a_dataset_drawing_random_numbers_cannot_change_the_method(runner, make_host,
                                                                   tmp_path: Path) -> None:
    host = make_host(RandomDatasetPlugin())
    args = ["run", "--method", "dcgan", "--task", "synthesis", "--dataset",
            "random-when-uncached", "--budget", "tiny", "--device", "cpu",
            "--set", "width=8", "--metrics", "fd_randcnn", "--out", str(tmp_path / "runs")]
    for _ in range(2):
        result = runner.invoke(app, args, obj=host)
        assert result.exit_code == 0, result.output
    first, second = sorted((tmp_path / "runs").iterdir())
    weights = [torch.load(folder / "checkpoint.pt", weights_only=True)["state_dict"]
               for folder in (first, second)]
    for name, tensor in weights[0]["generator"].items():
        assert torch.equal(tensor, weights[1]["generator"][name]), name
    one, two = records(tmp_path / "runs")
    assert one["metrics"]["fd_randcnn"]["value"] == two["metrics"]["fd_randcnn"]["value"]


# --- the metric loop -----------------------------------------------------------------------

class _TestMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "units"

    def __init__(self, name: str, outcome: Any) -> None:
        self.name, self.summary, self.outcome = name, f"test metric {name}", outcome

    @property
    def implementation(self) -> tuple[str, str]:
        return "tests", "0"

    def compute(self, inputs: SynthesisInputs, options: Any) -> Score:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return Score(self.outcome, {"generated": len(inputs.generated)})


class OptionalMetric(_TestMetric):
    default: ClassVar[bool] = False
    cost: ClassVar[str] = "expensive"


class BrokenMetrics:
    @hookimpl
    def register_metrics(self, register):
        register(_TestMetric("raises", ZeroDivisionError("no")))
        register(_TestMetric("not_a_number", float("nan")))
        register(_TestMetric("missing_here", MetricUnavailable("needs X", hint="install X")))
        register(OptionalMetric("on_request", 7.0))


def test_one_broken_metric_never_loses_the_others(runner, make_tiny_host, tiny_args,
                                                  tmp_path: Path) -> None:
    host = make_tiny_host(BrokenMetrics())
    result = runner.invoke(app, tiny_args("gaussian"), obj=host, terminal_width=400)
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["plugins"], obj=host, terminal_width=400)
    assert "adds metric 'raises' to the defaults" in listing.output  # warned at load
    [record] = records(tmp_path / "runs")
    metrics = record["metrics"]
    assert metrics["raises"]["status"] == "failed"
    assert metrics["raises"]["reason"] == "ZeroDivisionError: no"
    assert metrics["not_a_number"]["status"] == "failed"
    assert "nan" in metrics["not_a_number"]["reason"]
    assert metrics["missing_here"]["status"] == "unavailable"
    assert metrics["missing_here"]["reason"] == "needs X"
    assert "Notice: install X" in result.output
    assert metrics["fd_randcnn"]["status"] == "ok"
    assert "on_request" not in metrics  # not a default metric
    assert record["status"]["state"] == "ok"  # a broken plugin metric costs no run
    assert "metric(s) failed: not_a_number, raises" in result.output


def test_metrics_run_only_when_selected(runner, make_tiny_host, tiny_args,
                                        tmp_path: Path) -> None:
    host = make_tiny_host(BrokenMetrics())
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "on_request,fd_randcnn"),
                           obj=host)
    assert result.exit_code == 0, result.output
    [record] = records(tmp_path / "runs")
    assert set(record["metrics"]) == {"on_request", "fd_randcnn"}
    assert record["metrics"]["on_request"]["value"] == 7.0
    assert record["config"]["metrics"] == ["on_request", "fd_randcnn"]
    assert "--metrics on_request,fd_randcnn" in record["config"]["command"]


def test_wildcard_metric_options_reach_only_metrics_that_have_them(
        runner, host, tiny_args, tmp_path: Path, inception_checkpoint: Path) -> None:
    args = tiny_args("gaussian", "--metrics", "fd_randcnn,fid", "--metric-option",
                     f"*.inception_weights={inception_checkpoint}")
    result = runner.invoke(app, args, obj=host)
    assert result.exit_code == 0, result.output
    [record] = records(tmp_path / "runs")
    assert record["metrics"]["fid"]["options"] == {"inception_weights": str(inception_checkpoint)}
    assert record["metrics"]["fd_randcnn"]["options"] == {}


# --- conditional sampling ------------------------------------------------------------------

class SkewedTrain(TinyPhantom):
    """Train split: every image a cyst; the test split keeps all four classes."""

    name: ClassVar[str] = "skewed-train"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        splits = super().build(cache_dir)
        train = dict(splits["train"].arrays)
        train["label"] = np.full_like(train["label"], self.class_names.index("cyst"))
        return {**splits, "train": SplitArrays(train)}


class LabelRecorder(SynthesisMethod):
    name: ClassVar[str] = "label-recorder"
    summary: ClassVar[str] = "conditional; keeps the labels it is asked for"
    conditional: ClassVar[bool] = True
    asked: ClassVar[list[torch.Tensor]] = []

    def fit(self, train, val, context):
        pass

    def sample(self, n, labels, generator):
        LabelRecorder.asked.append(labels)
        return torch.rand(n, 1, 32, 32, generator=generator)


class ConditionalPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(SkewedTrain())

    @hookimpl
    def register_methods(self, register):
        register(LabelRecorder)


def test_conditional_methods_are_asked_for_the_train_class_mix(runner, make_host,
                                                               tmp_path: Path) -> None:
    LabelRecorder.asked.clear()
    result = runner.invoke(app, ["run", "--method", "label-recorder", "--task", "synthesis",
                                 "--dataset", "skewed-train", "--budget", "tiny",
                                 "--out", str(tmp_path)], obj=make_host(ConditionalPlugin()))
    assert result.exit_code == 0, result.output
    asked = torch.cat(LabelRecorder.asked)
    assert len(asked) == 40 and asked.dtype == torch.int64
    assert (asked == SkewedTrain().class_names.index("cyst")).all()  # never the test mix


# --- which tasks a method runs -------------------------------------------------------------

class Declining(LabelRecorder):
    name: ClassVar[str] = "declining"
    conditional: ClassVar[bool] = False
    declines: ClassVar[dict[str, str]] = {"synthesis": "it needs 3-D volumes"}


class DecliningPlugin:
    @hookimpl
    def register_methods(self, register):
        register(Declining)


def test_a_method_may_decline_a_task_it_could_run(runner, make_host, tmp_path: Path) -> None:
    host = make_host(DecliningPlugin())
    result = runner.invoke(app, ["run", "--method", "declining", "--task", "synthesis",
                                 "--out", str(tmp_path)], obj=host)
    assert result.exit_code == 1
    assert "Method 'declining' declines task 'synthesis': it needs 3-D volumes" in result.output
    listing = runner.invoke(app, ["list", "methods"], obj=host, terminal_width=200)
    row = next(line for line in listing.output.splitlines() if "declining" in line)
    assert "none installed" in row


# --- rescoring a checkpoint ----------------------------------------------------------------

def test_evaluate_rescores_a_checkpoint_exactly(runner, host, tiny_args,
                                                tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("dcgan", "--set", "width=8", "--metric-option",
                                          "memorization.quantile=0.1"), obj=host)
    assert result.exit_code == 0, result.output
    [trained] = (tmp_path / "runs").iterdir()
    again = tmp_path / "again"
    result = runner.invoke(app, ["evaluate", str(trained), "--metrics",
                                 "fd_randcnn,memorization", "--out", str(again)], obj=host,
                           terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "scoring with the source run's metric options" in result.output
    original = records(tmp_path / "runs")[0]
    [rescored] = records(again)
    assert set(rescored["metrics"]) == {"fd_randcnn", "memorization"}
    assert rescored["metrics"]["fd_randcnn"]["value"] == pytest.approx(
        original["metrics"]["fd_randcnn"]["value"], rel=1e-6)
    assert rescored["source_run"] == trained.name
    assert rescored["training"] is None
    assert rescored["config"]["checkpoint"] == str(trained / "checkpoint.pt")
    assert rescored["config"]["command"].startswith(f"medbench evaluate {trained}")


def test_evaluate_needs_a_checkpoint(runner, host, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    spec = RunSpec(method="dcgan", task="synthesis", dataset="tiny-phantom", budget="tiny")
    (folder / "record.json").write_text(json.dumps({"schema_version": "2.0",
                                                    "config": spec.to_dict()}))
    result = runner.invoke(app, ["evaluate", str(folder)], obj=host)
    assert result.exit_code == 1
    assert "has no checkpoint.pt" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("config,fragment", [
    ({"method": None}, "config.method must be a non-empty string"),
    ({"task": ["synthesis"]}, "config.task must be a non-empty string"),
    ({"seed": 1.9}, "config.seed must be an integer from 0 to 4294967295"),
    ({"seed": True}, "config.seed must be an integer from 0"),
    ({"seed": 2**64}, "config.seed must be an integer from 0"),
    ({"overrides": {"lr": 1}}, "config.overrides must map strings to strings"),
    ({"metric_options": {"fid": "x"}}, "config.metric_options"),
])
def test_rerun_names_the_bad_key_of_a_record(runner, host, tmp_path: Path,
                                             config: dict[str, Any], fragment: str) -> None:
    spec = RunSpec(method="dcgan", task="synthesis").to_dict()
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"schema_version": "2.0", "config": {**spec, **config}}))
    result = runner.invoke(app, ["rerun", str(path)], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert fragment in result.output


def test_a_schema_1_record_reruns_with_its_inception_weights(runner, host,
                                                             tmp_path: Path) -> None:
    config = {"method": "gaussian", "task": "synthesis", "dataset": "tiny-phantom",
              "budget": "tiny", "seed": 0, "device": "cpu", "overrides": {},
              "eval_options": {"inception_weights": "/gone.pth"}}
    path = tmp_path / "record.json"
    path.write_text(json.dumps({"schema_version": "1.0", "config": config}))
    spec = RunSpec.from_dict(config)
    assert spec.metric_options == {"*": {"inception_weights": "/gone.pth"}}
    result = runner.invoke(app, ["rerun", str(path)], obj=host)
    assert result.exit_code == 1 and "/gone.pth is not a file" in result.output
    path.write_text(json.dumps({"schema_version": "99", "config": config}))
    result = runner.invoke(app, ["rerun", str(path)], obj=host)
    assert result.exit_code == 1 and "schema_version '99'" in result.output


def test_spec_round_trips_through_the_record() -> None:
    spec = RunSpec(method="dcgan", task="synthesis", dataset="phantom", seed=3,
                   overrides={"lr": "1e-4"}, metrics=["fid"],
                   metric_options={"fid": {"inception_weights": "/w.pth"}})
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.command() == ("medbench run --method dcgan --task synthesis --dataset phantom "
                              "--budget smoke --seed 3 --device auto --set lr=1e-4 "
                              "--metrics fid --metric-option fid.inception_weights=/w.pth")


# --- files ---------------------------------------------------------------------------------

def test_atomic_write_leaves_no_trace_of_a_failed_write(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w", encoding="utf-8") as out:
        out.write("half a rec")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
    with atomic_write(path, "w", encoding="utf-8") as out:
        out.write("new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


# --- field declarations --------------------------------------------------------------------

@pytest.mark.parametrize("field,fragment", [
    (Field("ct", "image", "int16"), "needs a value_range"),
    (Field("m", "mask", "uint8", resize="area"), "cannot resize with 'area'"),
    (Field("y", "label", "int64", resize="nearest"), "cannot resize with 'nearest'"),
    (Field("x", "volume", "uint8"), "has kind 'volume'"),
    (Field("x", "image", "float16", value_range=(0, 1)), "has dtype 'float16'"),
    (Field("two words", "label", "int64"), "is not an identifier"),
])
def test_field_declarations_are_checked(field: Field, fragment: str) -> None:
    assert any(fragment in problem for problem in field.problems()), field.problems()


def test_image_fields_map_their_value_range_to_unit_and_back() -> None:
    ct = Field("ct", "image", "int16", value_range=(-1024, 3071), units="HU")
    hu = torch.tensor([-1024, 0, 3071], dtype=torch.int16)
    unit = ct.to_unit(hu)
    assert unit[0] == 0 and unit[-1] == 1
    assert torch.allclose(ct.from_unit(unit), hu.double(), atol=1e-3)
    assert Field("image", "image", "uint8").value_range == (0.0, 255.0)


# --- collapsed training --------------------------------------------------------------------

class Stuck(LabelRecorder):
    name: ClassVar[str] = "stuck"
    conditional: ClassVar[bool] = False

    def fit(self, train, val, context):
        for step, _ in enumerate(context.batches(train, 1)):
            context.log(loss_d=0.0, loss_g=9e14 + (step % 3) * 0.1, loss_moving=float(step))


class StuckPlugin:
    @hookimpl
    def register_methods(self, register):
        register(Stuck)


def test_losses_that_stop_moving_are_warned_about(runner, make_tiny_host, tiny_args,
                                                  tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("stuck", "--metrics", "fd_randcnn"),
                           obj=make_tiny_host(StuckPlugin()), terminal_width=300)
    assert result.exit_code == 0, result.output  # a collapsed run is still a result
    [record] = records(tmp_path / "runs")
    warnings = record["training"]["warnings"]
    assert len(warnings) == 2, warnings
    assert any("loss 'loss_d' stayed at 0" in w for w in warnings)
    assert any("loss 'loss_g' stayed at 9e+14" in w for w in warnings)
    assert "Training: loss 'loss_d' stayed at 0" in result.output


def test_a_budget_larger_than_the_dataset_says_its_images_are_upsampled(host) -> None:
    from medbench.run.runner import plan_run, resolution_warnings

    highres = plan_run(RunSpec("holdout", "synthesis", budget="highres"), host.registries)
    assert highres.budget.image_size == 256 and highres.dataset.native_size == 64
    assert resolution_warnings(highres) == [
        "images upsampled from the dataset's 64 px to the budget's 256 px; they hold no "
        "detail beyond 64 px"]
    assert resolution_warnings(plan_run(RunSpec("holdout", "synthesis"), host.registries)) == []
