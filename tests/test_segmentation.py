"""Segmentation: Dice, IoU and HD95 against scikit-learn, SciPy and brute force, the
empty-mask conventions, whole tiny runs of both methods, the low-data arm, bad predictions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist, directed_hausdorff
from sklearn.metrics import f1_score, jaccard_score

from medbench.api import DataInfo, Field, SegmentationMethod, Split, hookimpl
from medbench.cli import app
from medbench.metrics import segmentation as seg
from medbench.metrics.segmentation import hd95, overlap, surface
from medbench.record.spec import RunSpec
from medbench.tasks.segmentation import VesselSegmentationTask

SETTINGS = ["--set", "width=4", "--set", "depth=2", "--set", "batch_size=8"]


def random_masks(seed: int, n: int = 6, size: int = 24, classes: int = 3):
    generator = torch.Generator().manual_seed(seed)
    truth = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        for value in range(1, classes):
            y, x = torch.randint(4, size - 8, (2,), generator=generator).tolist()
            h, w = torch.randint(3, 7, (2,), generator=generator).tolist()
            truth[i, y : y + h, x : x + w] = value
    noise = torch.rand(n, size, size, generator=generator) < 0.08
    predicted = torch.where(noise, torch.randint(0, classes, (n, size, size),
                                                 generator=generator), truth)
    return truth, predicted


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dice_and_iou_match_scikit_learn(seed: int) -> None:
    truth, predicted = random_masks(seed)
    dice, iou = overlap(truth, predicted, 3, "dice"), overlap(truth, predicted, 3, "iou")
    for i in range(len(truth)):
        for c in (1, 2):
            t, p = (truth[i] == c).flatten().numpy(), (predicted[i] == c).flatten().numpy()
            assert float(dice[i, c - 1]) == pytest.approx(f1_score(t, p), abs=1e-6)
            assert float(iou[i, c - 1]) == pytest.approx(jaccard_score(t, p), abs=1e-6)


def test_empty_mask_conventions() -> None:
    truth = torch.zeros(3, 16, 16, dtype=torch.long)
    predicted = torch.zeros(3, 16, 16, dtype=torch.long)
    predicted[1, 2:5, 2:5] = 1  # invented where nothing is
    truth[2, 2:5, 2:5] = 1  # missed
    dice = overlap(truth, predicted, 2, "dice")[:, 0].tolist()
    iou = overlap(truth, predicted, 2, "iou")[:, 0].tolist()
    assert dice == [1.0, 0.0, 0.0] and iou == [1.0, 0.0, 0.0]
    empty = np.zeros((16, 16), bool)
    square = np.zeros((16, 16), bool)
    square[2:5, 2:5] = True
    assert hd95(empty, empty) == 0.0
    assert hd95(square, empty) == hd95(empty, square) == pytest.approx(math.hypot(16, 16))
    assert hd95(square, square) == 0.0


def test_every_score_records_the_floor_of_predicting_nothing() -> None:
    """Background everywhere: Dice 1 where a class is absent, 0 where present (so the
    floor is the share of images without the class), HD95 0 or the diagonal."""
    from medbench.api import EvalContext
    from medbench.api.data import DataInfo
    from medbench.api.segmentation import SegmentationInputs
    from medbench.metrics.segmentation import HD95, Dice

    truth = torch.zeros(4, 16, 16, dtype=torch.long)
    truth[:, 4:12, 4:12] = 1  # the organ on every image
    truth[0, 6:8, 6:8] = 2  # a lesion on one image of four
    predicted = truth.clone()
    context = EvalContext(torch.device("cpu"), 0, 4, DataInfo(16, {}), {}, None)
    inputs = SegmentationInputs(truth, predicted, ("background", "organ", "lesion"), None,
                                context)
    dice, distance = Dice().compute(inputs, None), HD95().compute(inputs, None)
    assert dice.value == 1.0 and dice.details["empty_prediction"] == pytest.approx(
        (0.0 + 0.75) / 2)
    assert distance.details["empty_prediction"] == pytest.approx(
        (math.hypot(16, 16) + 0.25 * math.hypot(16, 16)) / 2)


def brute_hd(truth: np.ndarray, predicted: np.ndarray, percentile: float) -> float:
    a, b = np.argwhere(surface(truth)), np.argwhere(surface(predicted))
    distances = cdist(a, b)
    return max(np.percentile(distances.min(axis=1), percentile),
               np.percentile(distances.min(axis=0), percentile))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hd95_matches_brute_force_and_scipy_at_the_maximum(seed: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:40, :40]
    truth = (yy - 20) ** 2 + (xx - 18) ** 2 < rng.uniform(40, 120)
    predicted = (yy - 20 - rng.integers(-3, 4)) ** 2 / rng.uniform(0.7, 1.3) \
        + (xx - 19) ** 2 < rng.uniform(40, 120)
    assert hd95(truth, predicted) == pytest.approx(brute_hd(truth, predicted, 95), abs=1e-9)
    assert hd95(truth, predicted, spacing=0.7) == pytest.approx(
        0.7 * brute_hd(truth, predicted, 95), abs=1e-9)
    monkeypatch.setattr(seg, "PERCENTILE", 100.0)
    a, b = np.argwhere(surface(truth)), np.argwhere(surface(predicted))
    scipy_hd = max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
    assert hd95(truth, predicted) == pytest.approx(scipy_hd, abs=1e-9)


def run(runner, host, out: Path, method: str, *extra: str):
    args = ["run", "--method", method, "--task", "segmentation", "--dataset", "tiny-phantom",
            "--budget", "tiny", "--out", str(out), "--device", "cpu", *extra]
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    folders = sorted(out.iterdir(), key=lambda p: p.stat().st_mtime) if out.exists() else []
    record = json.loads((folders[-1] / "record.json").read_text()) if folders else None
    return result, (folders[-1] if folders else None), record


def test_the_low_data_arm_keeps_a_stratified_fraction_and_reruns(runner, host,
                                                                  tmp_path: Path) -> None:
    result, folder, record = run(runner, host, tmp_path / "runs", "unet", *SETTINGS,
                                 "--train-fraction", "0.25")
    assert result.exit_code == 0, result.output
    assert record["config"]["train_fraction"] == 0.25
    assert "--train-fraction 0.25" in record["config"]["command"]
    assert record["training"]["fit_data"]["train"]["size"] == 16  # 4 of each of 4 classes
    rerun = runner.invoke(app, ["rerun", str(folder), "--out", str(tmp_path / "again")],
                          obj=host, terminal_width=200)
    assert rerun.exit_code == 0, rerun.output
    again = json.loads(next((tmp_path / "again").glob("*/record.json")).read_text())
    assert again["metrics"]["dice"]["value"] == record["metrics"]["dice"]["value"]
    assert RunSpec.from_dict({k: v for k, v in record["config"].items()
                              if k != "train_fraction" and k in RunSpec.__dataclass_fields__}
                             ).train_fraction == 1.0


class BadSegmenter(SegmentationMethod):
    name: ClassVar[str] = "bad-segmenter"
    summary: ClassVar[str] = "returns broken class scores on purpose"
    output: ClassVar[str] = "shape"

    def fit(self, train, val, context):
        context.count_images(len(train))

    def segment(self, images):
        n, _, size, _ = images.shape
        if self.output == "shape":
            return torch.zeros(n, 2, size, size)
        if self.output == "dtype":
            return torch.zeros(n, 3, size, size, dtype=torch.long)
        return torch.full((n, 3, size, size), float("nan"))


@pytest.mark.parametrize("kind, fragment", [
    ("shape", "class scores of shape (40, 2, 32, 32), expected (40, 3, 32, 32)"),
    ("dtype", "class scores of dtype torch.int64, expected floats"),
    ("nan", "returned non-finite class scores"),
])
def test_bad_class_scores_fail_clearly(runner, make_tiny_host, tmp_path: Path, kind: str,
                                       fragment: str) -> None:
    method = type(f"Bad{kind}", (BadSegmenter,), {"name": f"bad-{kind}", "output": kind})

    class Plugin:
        @hookimpl
        def register_methods(self, register):
            register(method)

    result, _, record = run(runner, make_tiny_host(Plugin()), tmp_path / "runs", method.name)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert record["status"]["state"] == "failed"
    assert fragment in record["status"]["reason"]


def test_the_vessel_label_is_where_arteries_and_veins_cover_half_a_pixel() -> None:
    vessels = torch.zeros(1, 2, 4, 4)
    vessels[0, 0, 0, 0], vessels[0, 1, 0, 0] = 0.3, 0.3  # 0.6 together: vessel
    vessels[0, 0, 1, 1] = 0.4  # below half: background
    vessels[0, 1, 2, 2] = 1.0
    info = DataInfo(4, {"fundus": Field("fundus", "image", "uint8", channels=3),
                        "vessels": Field("vessels", "image", "uint8", channels=2)})
    split = Split("test", {"fundus": torch.zeros(1, 3, 4, 4), "vessels": vessels}, info)
    labelled = VesselSegmentationTask()._labelled(split)
    assert labelled["mask"][0, 0].nonzero().tolist() == [[0, 0], [2, 2]]
    assert labelled.info.field("mask").value_names == ("background", "vessel")
    assert labelled.fields == ("image", "mask")
