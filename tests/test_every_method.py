"""Every registered method on every task it supports, every metric and every dataset: tests
driven by the registry, so that a new method, task, metric or dataset is checked without
editing a list here.

Each pair runs at the tiny budget on the first tiny dataset (tests/support.py) its task
accepts, and its record is checked: the generic contract for every pair, then what the
task's protocol promises (`TASK_CHECKS`; a task without an entry gets the generic checks).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from medbench.api import SPLITS, MetricInputs
from medbench.api.metric import Cost
from medbench.cli import app
from medbench.host.manager import load_host
from medbench.metrics import condition_fidelity, lesion
from medbench.record.schema import SCHEMA_VERSION
from medbench.run.runner import supported_tasks
from medbench.run.scoring import applicable_metrics

from support import TINY_SIZES, TinyDatasetPlugin, TinyPairsPlugin

REGISTRIES = load_host(False, TinyDatasetPlugin(), TinyPairsPlugin()).registries
TINY = [dataset for dataset in REGISTRIES.datasets if dataset.name.startswith("tiny-")]
TINY_NAMES = {dataset.name for dataset in TINY}
# The tiny twin of the task's default dataset where there is one, else the first that fits.
TINY_FOR = {task.name: f"tiny-{task.default_dataset}"
            if f"tiny-{task.default_dataset}" in TINY_NAMES
            else next(dataset.name for dataset in TINY if task.dataset_problem(dataset) is None)
            for task in REGISTRIES.tasks}
PAIRS = [(method.name, task) for method in REGISTRIES.methods
         for task in supported_tasks(method, list(REGISTRIES.tasks))]
# Smaller networks than the smoke defaults, only so that the suite stays fast; a method not
# named here runs with its own defaults.
SMALL = {
    "pggan": ["--set", "max_width=16", "--set", "fmap_base=128"],
    "unet-l1": ["--set", "width=4", "--set", "batch_size=4"],
    "pix2pix": ["--set", "width=4", "--set", "batch_size=4"],
    "cyclegan": ["--set", "width=4", "--set", "blocks=1", "--set", "batch_size=4"],
    "unet": ["--set", "width=4", "--set", "depth=2", "--set", "batch_size=8"],
    "adversarial-unet": ["--set", "width=4", "--set", "depth=2", "--set", "batch_size=8"],
    "autoencoder": ["--set", "width=4", "--set", "batch_size=8"],
    "ganomaly": ["--set", "width=4", "--set", "batch_size=8"],
    "f-anogan": ["--set", "width=4", "--set", "batch_size=8", "--set", "n_critic=2"],
    "anogan": ["--set", "width=4", "--set", "batch_size=8", "--set", "search_steps=3"],
    "lesion-gan": ["--set", "width=4", "--set", "batch_size=4"],
    "lesion-l1": ["--set", "width=4", "--set", "batch_size=4"],
}


def test_the_speed_settings_name_registered_methods() -> None:
    assert set(SMALL) <= {method.name for method in REGISTRIES.methods}


def _synthesis(record: dict[str, Any], method: str, output: str) -> None:
    assert record["training"]["fit_data"] == {
        "train": {"size": TINY_SIZES["train"], "fields": ["image", "label"]},
        "val": {"size": TINY_SIZES["val"], "fields": ["image", "label"]}}
    for name in ("fd_randcnn", "kid_randcnn"):
        metric = record["metrics"][name]
        assert metric["status"] == "ok" and metric["n_samples"] == {"real": 48, "generated": 40}
        assert metric["details"]["extractor"].startswith("randcnn-v2-")
    assert record["metrics"]["fid"]["status"] == "unavailable"
    assert "not found" in record["metrics"]["fid"]["reason"]
    assert "Notice:" in output and "--inception-weights" in output
    assert {"samples", "checkpoint"} <= set(record["artifacts"])


def _image_to_image(record: dict[str, Any], method: str, output: str) -> None:
    task = record["task"]["name"]
    for name in ("psnr", "ssim", "nmse", "fd_randcnn"):
        assert record["metrics"][name]["status"] == "ok", (name, record["metrics"][name])
        assert record["metrics"][name]["n_samples"].get("test", 12) == 12
    if task == "conditional":
        assert record["metrics"]["condition_dice"]["status"] == "ok"
    if task == "reconstruction":
        assert "gain" in record["metrics"]["psnr"]["details"]
    fit = record["training"]["fit_data"]["train"]
    assert fit["fields"] == ["source", "target"]
    # Unpaired methods, and every method on the unpaired task, get half the subjects per side.
    paired = REGISTRIES.methods.get(method).paired and task != "translation-unpaired"
    assert fit["size"] == (24 if paired else 12)
    assert {"samples", "checkpoint"} <= set(record["artifacts"])


def _segmentation(record: dict[str, Any], method: str, output: str) -> None:
    classes = {"segmentation": {"liver", "lesion"}, "vessel-segmentation": {"vessel"}}
    for name in ("dice", "iou", "hd95"):
        metric = record["metrics"][name]
        assert metric["status"] == "ok" and len(metric["n_samples"]) == 1
        assert set(metric["details"]["per_class"]) == classes[record["task"]["name"]]
    assert record["training"]["fit_data"]["train"]["fields"] == ["image", "mask"]
    if method == "adversarial-unet":
        assert {"seg", "critic", "adv"} <= set(record["training"]["final_losses"])


def _anomaly(record: dict[str, Any], method: str, output: str) -> None:
    fit = record["training"]["fit_data"]
    assert fit["train"]["fields"] == ["image"]
    assert fit["train"]["size"] == TINY_SIZES["train"] // 4  # the normal quarter
    for name in ("image_auroc", "image_auprc", "sensitivity_at_95_specificity"):
        metric = record["metrics"][name]
        assert metric["status"] == "ok" and metric["n_samples"] == {"test": 40}
    pixel = record["metrics"]["pixel_auroc"]
    if pixel["status"] != "ok":  # a method without anomaly maps (GANomaly)
        assert "no anomaly maps" in pixel["reason"]
    else:
        assert pixel["n_samples"]["pixels"] == 40 * 32 * 32


def _lesion_synthesis(record: dict[str, Any], method: str, output: str) -> None:
    fit = record["training"]["fit_data"]["train"]
    assert fit["fields"] == ["healthy", "image", "lesion", "organ", "label"]
    for name in ("lesion_dice", "lesion_dice_border", "lesion_dice_small", "lesion_dice_large",
                 "context_mae", "fd_randcnn", "precision_randcnn", "lesion_class_accuracy"):
        assert record["metrics"][name]["status"] == "ok", (name, record["metrics"][name])
    typical = record["metrics"]["lesion_dice"]["n_samples"]["cases"]
    assert record["metrics"]["fd_randcnn"]["n_samples"] == {"real": typical,
                                                           "generated": typical}
    placements = record["metrics"]["context_mae"]["details"]["per_placement"]
    assert set(placements) == {"typical", "border", "small", "large"}
    # Every built-in paints inside the mask only (or nothing at all).
    assert record["metrics"]["context_mae"]["value"] == 0.0
    assert {"samples", "checkpoint", "panel"} <= set(record["artifacts"])


TASK_CHECKS: dict[str, Callable[[dict[str, Any], str, str], None]] = {
    "lesion-synthesis": _lesion_synthesis,
    "synthesis": _synthesis, "conditional": _image_to_image, "reconstruction": _image_to_image,
    "translation": _image_to_image, "translation-unpaired": _image_to_image,
    "segmentation": _segmentation, "vessel-segmentation": _segmentation, "anomaly": _anomaly,
}


def test_task_checks_name_registered_tasks() -> None:
    assert set(TASK_CHECKS) <= {task.name for task in REGISTRIES.tasks}


@pytest.mark.parametrize("method,task", PAIRS, ids=[f"{m}-{t}" for m, t in PAIRS])
def test_every_method_completes_a_tiny_run_on_every_task_it_supports(
        runner, make_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str,
        task: str) -> None:
    monkeypatch.setattr(condition_fidelity, "STEPS", 10)
    monkeypatch.setattr(lesion, "CLASSIFIER_STEPS", 10)
    host = make_host(TinyDatasetPlugin(), TinyPairsPlugin())
    dataset = TINY_FOR[task]
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", "--method", method, "--task", task, "--dataset",
                                 dataset, "--budget", "tiny", "--out", str(out), "--device",
                                 "cpu", *SMALL.get(method, [])], obj=host)
    assert result.exit_code == 0, result.output
    [folder] = list(out.iterdir())
    record = json.loads((folder / "record.json").read_text())

    assert record["schema_version"] == SCHEMA_VERSION
    assert record["status"] == {"state": "ok", "reason": None, "step": None}
    assert (record["config"]["method"], record["config"]["task"],
            record["config"]["dataset"]) == (method, task, dataset)
    method_cls = host.registries.methods.get(method)
    task_obj = host.registries.tasks.get(task)
    assert record["method"]["protocol"] == task_obj.method_protocol.__name__
    assert record["method"]["distribution"] == "medbench"
    assert record["task"]["version"] == task_obj.version
    assert record["budget"]["image_size"] == 32
    training = record["training"]
    assert training["images_seen"] <= training["images_budget"] == 256
    assert training["peak_memory_bytes"] > 0
    manifest = host.registries.datasets.get(dataset).manifest()
    for split in SPLITS:
        assert record["dataset"]["splits"][split]["sha256"] == manifest[split].sha256
    defaults = {metric.name for metric in applicable_metrics(task_obj, host.registries.metrics)
                if metric.default}
    assert set(record["metrics"]) == defaults
    for name, result_ in record["metrics"].items():
        metric = host.registries.metrics.get(name)
        assert result_["higher_is_better"] is metric.higher_is_better, name
        assert result_["units"] == metric.units, name
        assert result_["status"] in ("ok", "unavailable"), (name, result_.get("reason"))
        if result_["status"] == "ok":
            low, high = metric.range
            assert math.isfinite(result_["value"]), name
            assert low is None or result_["value"] >= low - 1e-9, (name, result_["value"])
            assert high is None or result_["value"] <= high + 1e-9, (name, result_["value"])
            assert result_["n_samples"], name
        else:
            assert result_["value"] is None and result_["reason"], name
    for artifact in record["artifacts"].values():
        assert (folder / artifact).is_file()
    assert method_cls.card(), f"{method} ships no model card"
    TASK_CHECKS.get(task, lambda *_: None)(record, method, result.output)


@pytest.mark.parametrize("name", [metric.name for metric in REGISTRIES.metrics])
def test_every_metric_declares_what_its_values_mean(name: str) -> None:
    """Range, direction, units and inputs: what tables rank and check values by (the pair
    runs above check each default metric's values against them)."""
    metric = REGISTRIES.metrics.get(name)
    low, high = metric.range
    assert low is None or high is None or low < high, name
    assert isinstance(metric.higher_is_better, bool), name
    assert metric.units.strip() and metric.summary.strip(), name
    assert issubclass(metric.reads, MetricInputs), name
    assert metric.cost in get_args(Cost) and metric.metric_version, name
    readers = [task.name for task in REGISTRIES.tasks
               if metric in applicable_metrics(task, REGISTRIES.metrics)]
    assert readers, f"{name} scores no registered task"


@pytest.mark.parametrize("name", [dataset.name for dataset in REGISTRIES.datasets
                                  if not dataset.name.startswith("tiny-")])
def test_every_dataset_has_a_card_and_a_manifest(name: str) -> None:
    dataset = REGISTRIES.datasets.get(name)
    card = dataset.card()
    assert card.startswith(f"# {name}") or name in card.splitlines()[0], name
    assert len(card) > 200 and dataset.licence != "unspecified", name
    manifest = dataset.manifest()
    if manifest:  # empty: a file-backed dataset whose sizes are known once decoded
        assert set(manifest) == set(SPLITS)
        for split in manifest.values():
            assert split.size > 0
            if split.sha256:  # "": sizes published, content hashes known once decoded
                assert re.fullmatch(r"[0-9a-f]{64}", split.sha256)
                assert set(split.fields) == {field.name for field in dataset.fields}
    assert dataset.fields and dataset.native_size >= 8
