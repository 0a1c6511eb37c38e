"""The image-to-image tasks through whole tiny runs: every method on every task it claims,
what `fit` receives (paired or not), budgets per task, and bad predictions or data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from medbench.api import ImageToImageMethod, hookimpl
from medbench.cli import app
from medbench.record.spec import RunSpec
from medbench.run.runner import plan_run, supported_tasks

from support import TINY_PAIRS, TinyBrain, TinyPairsPlugin

SETTINGS = {
    "identity": [],
    "unet-l1": ["--set", "width=4", "--set", "batch_size=4"],
    "pix2pix": ["--set", "width=4", "--set", "batch_size=4"],
    "cyclegan": ["--set", "width=4", "--set", "blocks=1", "--set", "batch_size=4"],
}
CLAIMS = {
    "identity": ["translation", "translation-unpaired", "reconstruction", "conditional",
                 "lesion-synthesis"],
    "unet-l1": ["translation", "reconstruction", "conditional"],
    "pix2pix": ["translation", "reconstruction", "conditional"],
    "cyclegan": ["translation", "translation-unpaired"],
}


@pytest.fixture
def pair_host(make_host):
    return make_host(TinyPairsPlugin())


def run(runner, host, out: Path, method: str, task: str, *extra: str):
    args = ["run", "--method", method, "--task", task, "--dataset", TINY_PAIRS[task],
            "--budget", "tiny", "--out", str(out), "--device", "cpu", *SETTINGS.get(method, []),
            *extra]
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    folders = sorted(out.iterdir(), key=lambda p: p.stat().st_mtime) if out.exists() else []
    record = json.loads((folders[-1] / "record.json").read_text()) if folders else None
    return result, (folders[-1] if folders else None), record


def test_each_method_claims_the_tasks_its_card_says(pair_host) -> None:
    tasks = list(pair_host.registries.tasks)
    for method, claimed in CLAIMS.items():
        method_cls = pair_host.registries.methods.get(method)
        assert sorted(supported_tasks(method_cls, tasks)) == sorted(claimed), method


def test_a_checkpoint_rescores_to_the_same_values(runner, pair_host, tmp_path: Path) -> None:
    _, folder, record = run(runner, pair_host, tmp_path / "runs", "pix2pix", "reconstruction")
    result = runner.invoke(app, ["evaluate", str(folder), "--out", str(tmp_path / "eval")],
                           obj=pair_host, terminal_width=200)
    assert result.exit_code == 0, result.output
    evaluated = json.loads(next((tmp_path / "eval").glob("*/record.json")).read_text())
    for name in ("psnr", "ssim", "nmse"):
        assert evaluated["metrics"][name]["value"] == pytest.approx(
            record["metrics"][name]["value"], rel=1e-6)


def test_a_paired_method_is_refused_by_the_unpaired_task(runner, pair_host,
                                                         tmp_path: Path) -> None:
    result, folder, _ = run(runner, pair_host, tmp_path / "runs", "pix2pix",
                            "translation-unpaired")
    assert result.exit_code != 0
    assert "unpaired data only, and the method learns from pairs" in result.output
    assert "It can run: conditional, reconstruction, translation" in result.output
    assert "Traceback" not in result.output and folder is None


def test_each_task_sizes_its_own_smoke_budget(pair_host) -> None:
    registries = pair_host.registries
    sizes = {}
    for task in CLAIMS["identity"]:
        plan = plan_run(RunSpec(method="identity", task=task, budget="smoke"), registries)
        sizes[task] = (plan.budget.image_size, plan.budget.train_images,
                       plan.budget.eval_samples)
    assert sizes == {"translation": (32, 4000, 500), "translation-unpaired": (32, 4000, 500),
                     "reconstruction": (64, 8000, 500), "conditional": (64, 8000, 500),
                     "lesion-synthesis": (64, 8000, 300)}
    plan = plan_run(RunSpec(method="pix2pix", task="reconstruction", budget="smoke"),
                    registries)
    assert (plan.config.width, plan.config.lr) == (16, 1e-3)


class BadTranslator(ImageToImageMethod):
    name: ClassVar[str] = "bad-translator"
    summary: ClassVar[str] = "returns broken predictions on purpose"
    output: ClassVar[str] = "shape"

    def fit(self, train, val, context):
        context.count_images(len(train))

    def translate(self, source):
        n, _, size, _ = source.shape
        if self.output == "shape":
            return torch.zeros(n, 3, size, size)
        if self.output == "dtype":
            return torch.zeros(n, 1, size, size, dtype=torch.uint8)
        if self.output == "range":
            return torch.full((n, 1, size, size), 255.0)
        return torch.full((n, 1, size, size), float("nan"))


def bad(kind: str) -> type[BadTranslator]:
    return type(f"Bad{kind}", (BadTranslator,), {"name": f"bad-{kind}", "output": kind})


@pytest.mark.parametrize("kind, fragment", [
    ("shape", "translations of shape (12, 3, 32, 32), expected (12, 1, 32, 32)"),
    ("dtype", "translations of dtype torch.uint8, expected floats in [0, 1]"),
    ("range", "returned pixels in [255.000, 255.000], expected [0, 1]"),
    ("nan", "returned non-finite translations"),
])
def test_bad_predictions_fail_clearly_and_keep_the_checkpoint(
        runner, make_host, tmp_path: Path, kind: str, fragment: str) -> None:
    method = bad(kind)

    class Plugin:
        @hookimpl
        def register_methods(self, register):
            register(method)

    host = make_host(TinyPairsPlugin(), Plugin())
    result, _, record = run(runner, host, tmp_path / "runs", method.name, "translation")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert record["status"]["state"] == "failed"
    assert fragment in record["status"]["reason"]
    assert record["artifacts"]["checkpoint"] == "checkpoint.pt"


class MisalignedBrain(TinyBrain):
    """CT stored at another size than MR: the pair cannot line up."""

    name: ClassVar[str] = "misaligned-brain"

    def render(self, n, seed):
        arrays = super().render(n, seed)
        arrays["ct"] = np.ascontiguousarray(arrays["ct"][:, ::2, ::2])
        return arrays

    def manifest(self):
        raise AssertionError("a dataset with mismatched fields never reaches its manifest")


def test_a_pair_of_mismatched_sizes_is_refused(runner, make_host, tmp_path: Path) -> None:
    class Plugin:
        @hookimpl
        def register_datasets(self, register):
            register(MisalignedBrain())

    host = make_host(Plugin())
    args = ["run", "--method", "identity", "--task", "translation", "--dataset",
            "misaligned-brain", "--budget", "tiny", "--out", str(tmp_path / "runs")]
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    assert result.exit_code != 0
    assert "field 'ct': shape (24, 32, 32), expected (N, *(64, 64))" in result.output
    assert "Traceback" not in result.output
