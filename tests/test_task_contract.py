"""One contract for every task: three task plugins defined only here run end to end through
the harness, with no change to the runner.

- a paired image-to-image task (MR-like -> CT in HU, a 16-bit field with its own units);
- a segmentation task with a mask field and pixel spacing;
- an abnormality task whose `fit` receives only normal images.

Each defines its own method protocol, metric inputs and metric, exactly as a third-party
task plugin would, importing only `medbench.api`. They are fixtures, not medbench's tasks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, roc_auc_score

from medbench.api import (
    DataInfo,
    DatasetSpec,
    EvalContext,
    EvalSplits,
    Field,
    Method,
    Metric,
    MetricInputs,
    Predictions,
    Score,
    Split,
    SplitArrays,
    SplitManifest,
    Task,
    hookimpl,
)
from medbench.cli import app

from support import TINY_SIZES, computed_manifest

SEEN: dict[str, Any] = {}


def run_record(runner, host, tmp_path: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["run", *args, "--budget", "tiny", "--device", "cpu",
                                 "--out", str(tmp_path / "runs")], obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    [record] = (tmp_path / "runs").glob("*/record.json")
    return json.loads(record.read_text())


class InCodeDataset(DatasetSpec):
    """Test datasets are built in code; their manifest is what they build."""

    version: ClassVar[str] = "test"
    modality: ClassVar[str] = "synthetic"

    def manifest(self) -> dict[str, SplitManifest]:
        return computed_manifest(self)

    def card(self) -> str:
        return f"# {self.name}\nTest data."


# --- a paired image-to-image task: MR-like in, CT in Hounsfield units out ------------------

HU_RANGE = (-1024.0, 3071.0)


class PairedPhantom(InCodeDataset):
    name: ClassVar[str] = "paired-toy"
    summary: ClassVar[str] = "discs: an MR-like image and its CT in HU"
    native_size: ClassVar[int] = 32
    fields: ClassVar[tuple[Field, ...]] = (
        Field("mr", "image", "float32", value_range=(0.0, 1000.0), units="a.u."),
        Field("ct", "image", "int16", value_range=HU_RANGE, units="HU", window=(40, 400)),
    )

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        out = {}
        for index, split in enumerate(("train", "val", "test")):
            rng = np.random.default_rng(index)
            n = TINY_SIZES[split]
            yy, xx = np.mgrid[:32, :32]
            radius = rng.uniform(4, 12, (n, 1, 1))
            disc = ((yy - 16) ** 2 + (xx - 16) ** 2) < radius**2
            ct = np.where(disc, 60, -1000) + rng.normal(0, 10, (n, 32, 32))
            mr = np.where(disc, 600.0, 20.0) + rng.normal(0, 5, (n, 32, 32))
            out[split] = SplitArrays({"mr": mr.astype(np.float32), "ct": ct.astype(np.int16)})
        return out


class ToyImageToImageMethod(Method):
    """The protocol this task defines: map a batch of source images to target images."""

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class PairedInputs(MetricInputs):
    def __init__(self, predicted: torch.Tensor, target: torch.Tensor, target_field: Field,
                 context: EvalContext) -> None:
        super().__init__(context)
        self.predicted, self.target, self.target_field = predicted, target, target_field


class TranslationTask(Task):
    name: ClassVar[str] = "toy-translation"
    version: ClassVar[str] = "0"
    summary: ClassVar[str] = "mr -> ct"
    default_dataset: ClassVar[str] = "paired-toy"
    required_fields: ClassVar[tuple[str, ...]] = ("mr", "ct")
    method_protocol: ClassVar[type[Method]] = ToyImageToImageMethod
    inputs: ClassVar[type[MetricInputs]] = PairedInputs

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, ToyImageToImageMethod)
        source = splits.test["mr"]
        predicted = method.translate(source.clone())  # the targets never reach the method
        return Predictions(PairedInputs(predicted, splits.test["ct"],
                                        context.data.field("ct"), context), preview=predicted)


class MaeHU(Metric):
    name = "mae_hu_toy"
    summary = "mean absolute error in the target field's units"
    reads: ClassVar[type[MetricInputs]] = PairedInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "HU"

    @property
    def implementation(self) -> tuple[str, str]:
        return "torch", torch.__version__

    def compute(self, inputs: PairedInputs, options: Any) -> Score:
        field = inputs.target_field
        error = (field.from_unit(inputs.predicted) - field.from_unit(inputs.target)).abs()
        return Score(float(error.mean()), {"images": len(inputs.target)})


class MeanCT(ToyImageToImageMethod):
    """Predicts the mean training CT everywhere; learns it from batches of both fields."""

    name: ClassVar[str] = "mean-ct"
    summary: ClassVar[str] = "constant prediction"

    def fit(self, train: Split, val: Split, context) -> None:
        SEEN["translation-info"] = self.data
        total, count = 0.0, 0
        for mr, ct in context.batches(train, 8, fields=("mr", "ct")):
            assert mr.shape == ct.shape == (mr.shape[0], 1, 32, 32)
            total, count = total + float(ct.sum()), count + ct.numel()
            context.log(loss=0.0)
        self.mean = total / count

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        SEEN["translate-input"] = source
        return torch.full_like(source, self.mean)


class TranslationPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(PairedPhantom())

    @hookimpl
    def register_tasks(self, register):
        register(TranslationTask())

    @hookimpl
    def register_metrics(self, register):
        register(MaeHU())

    @hookimpl
    def register_methods(self, register):
        register(MeanCT)


def test_a_paired_image_to_image_task_runs_end_to_end(runner, make_host,
                                                      tmp_path: Path) -> None:
    SEEN.clear()
    host = make_host(TranslationPlugin())
    record = run_record(runner, host, tmp_path, "--method", "mean-ct", "--task",
                        "toy-translation")
    assert record["status"]["state"] == "ok", record["status"]
    assert record["task"]["inputs"] == "PairedInputs"
    assert record["method"]["protocol"] == "ToyImageToImageMethod"
    assert record["dataset"]["fields"]["ct"]["dtype"] == "int16"
    assert record["dataset"]["fields"]["ct"]["units"] == "HU"
    info: DataInfo = SEEN["translation-info"]
    assert info.field("ct").value_range == HU_RANGE
    # The method was shown the test inputs, never anything else of the test split.
    test = PairedPhantom().build(Path("unused"))["test"]
    mr_unit = (torch.from_numpy(test["mr"]).unsqueeze(1) / 1000.0).clamp(0, 1)  # as Field says
    assert torch.allclose(SEEN["translate-input"], mr_unit)
    # The metric's value, recomputed independently in NumPy from the stored HU values.
    train = PairedPhantom().build(Path("unused"))["train"]
    predicted_hu = (train["ct"].astype(np.float64).mean() - HU_RANGE[0])
    predicted_hu = np.float32(predicted_hu / (HU_RANGE[1] - HU_RANGE[0]))
    predicted_hu = predicted_hu * (HU_RANGE[1] - HU_RANGE[0]) + HU_RANGE[0]
    expected = np.abs(predicted_hu - test["ct"].astype(np.float64)).mean()
    metric = record["metrics"]["mae_hu_toy"]
    assert metric["status"] == "ok" and metric["units"] == "HU"
    assert metric["value"] == pytest.approx(expected, rel=1e-4)


# --- a segmentation task: a mask field and pixel spacing ------------------------------------

class DiscMasks(InCodeDataset):
    name: ClassVar[str] = "disc-masks"
    summary: ClassVar[str] = "bright discs and their masks, 0.5 mm pixels"
    native_size: ClassVar[int] = 64
    pixel_spacing_mm: ClassVar[float | None] = 0.5
    fields: ClassVar[tuple[Field, ...]] = (
        Field("image", "image", "uint8"),
        Field("mask", "mask", "uint8", value_names=("background", "disc")),
    )

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        out = {}
        for index, split in enumerate(("train", "val", "test")):
            rng = np.random.default_rng(10 + index)
            n = TINY_SIZES[split]
            yy, xx = np.mgrid[:64, :64]
            cy, cx = rng.uniform(20, 44, (2, n, 1, 1))
            disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < rng.uniform(8, 16, (n, 1, 1)) ** 2
            image = np.clip(np.where(disc, 180, 60) + rng.normal(0, 12, disc.shape), 0, 255)
            out[split] = SplitArrays({"image": image.astype(np.uint8),
                                      "mask": disc.astype(np.uint8)})
        return out


class Segmenter(Method):
    def segment(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class SegmentationInputs(MetricInputs):
    def __init__(self, predicted: torch.Tensor, truth: torch.Tensor,
                 context: EvalContext) -> None:
        super().__init__(context)
        self.predicted, self.truth = predicted, truth


class SegmentationTask(Task):
    name: ClassVar[str] = "toy-segmentation"
    version: ClassVar[str] = "0"
    summary: ClassVar[str] = "image -> mask"
    default_dataset: ClassVar[str] = "disc-masks"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "mask")
    method_protocol: ClassVar[type[Method]] = Segmenter
    inputs: ClassVar[type[MetricInputs]] = SegmentationInputs

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, Segmenter)
        predicted = method.segment(splits.test["image"].clone())
        return Predictions(SegmentationInputs(predicted, splits.test["mask"], context),
                           preview=predicted.float())


class PixelF1(Metric):
    name = "dice_toy"
    summary = "Dice (F1) of the foreground, by scikit-learn"
    reads: ClassVar[type[MetricInputs]] = SegmentationInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "fraction"

    @property
    def implementation(self) -> tuple[str, str]:
        return "sklearn.metrics.f1_score", "any"

    def compute(self, inputs: SegmentationInputs, options: Any) -> Score:
        value = f1_score(inputs.truth.flatten().numpy(), inputs.predicted.flatten().numpy())
        return Score(value, {"images": len(inputs.truth)},
                     {"pixel_spacing_mm": inputs.context.data.pixel_spacing_mm})


class Threshold(Segmenter):
    name: ClassVar[str] = "threshold"
    summary: ClassVar[str] = "midpoint between mean foreground and background intensity"

    def fit(self, train: Split, val: Split, context) -> None:
        SEEN["segmentation-info"] = self.data
        fore, back = [], []
        for image, mask in context.batches(train, 16, fields=("image", "mask")):
            assert mask.dtype == torch.uint8 and set(mask.unique().tolist()) <= {0, 1}
            fore.append(image[mask == 1])
            back.append(image[mask == 0])
        self.level = (torch.cat(fore).mean() + torch.cat(back).mean()) / 2

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        return (images > self.level).to(torch.uint8)


class SegmentationPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(DiscMasks())

    @hookimpl
    def register_tasks(self, register):
        register(SegmentationTask())

    @hookimpl
    def register_metrics(self, register):
        register(PixelF1())

    @hookimpl
    def register_methods(self, register):
        register(Threshold)


def test_a_segmentation_task_with_masks_and_spacing_runs_end_to_end(
        runner, make_host, tmp_path: Path) -> None:
    SEEN.clear()
    host = make_host(SegmentationPlugin())
    record = run_record(runner, host, tmp_path, "--method", "threshold", "--task",
                        "toy-segmentation")
    assert record["status"]["state"] == "ok", record["status"]
    # 64 px at 0.5 mm, resized to the tiny budget's 32 px: 1 mm pixels.
    info: DataInfo = SEEN["segmentation-info"]
    assert info.pixel_spacing_mm == 1.0 and info.image_size == 32
    assert info.field("mask").value_names == ("background", "disc")
    assert record["dataset"]["pixel_spacing_mm"] == 1.0
    assert record["dataset"]["fields"]["mask"]["resize"] == "nearest"
    dice = record["metrics"]["dice_toy"]
    assert dice["status"] == "ok" and dice["value"] > 0.9
    assert dice["details"]["pixel_spacing_mm"] == 1.0
    # A method of another protocol is not offered this task.
    result = runner.invoke(app, ["run", "--method", "dcgan", "--task", "toy-segmentation",
                                 "--out", str(tmp_path / "x")], obj=host)
    assert result.exit_code == 1 and "needs a Segmenter" in result.output


# --- an abnormality task: fit sees normal images only ---------------------------------------

class AnomalyScorer(Method):
    def score(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class AnomalyInputs(MetricInputs):
    def __init__(self, scores: torch.Tensor, abnormal: torch.Tensor,
                 context: EvalContext) -> None:
        super().__init__(context)
        self.scores, self.abnormal = scores, abnormal


class AnomalyTask(Task):
    name: ClassVar[str] = "toy-anomaly"
    version: ClassVar[str] = "0"
    summary: ClassVar[str] = "train on normal slices, flag lesions"
    default_dataset: ClassVar[str] = "tiny-phantom"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "label")
    method_protocol: ClassVar[type[Method]] = AnomalyScorer
    inputs: ClassVar[type[MetricInputs]] = AnomalyInputs

    def dataset_problem(self, dataset: DatasetSpec) -> str | None:
        if dataset.normal_class is None:
            return "declares no normal_class"
        return super().dataset_problem(dataset)

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        normal = train.info.class_names.index(train.info.normal_class)
        return (train.subset(train["label"] == normal).select("image", "label"),
                val.subset(val["label"] == normal).select("image", "label"))

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, AnomalyScorer)
        normal = context.data.class_names.index(context.data.normal_class)
        scores = method.score(splits.test["image"].clone())
        return Predictions(AnomalyInputs(scores, splits.test["label"] != normal, context))


class ImageAUROC(Metric):
    name = "auroc_toy"
    summary = "image-level AUROC, by scikit-learn"
    reads: ClassVar[type[MetricInputs]] = AnomalyInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "fraction"

    @property
    def implementation(self) -> tuple[str, str]:
        return "sklearn.metrics.roc_auc_score", "any"

    def compute(self, inputs: AnomalyInputs, options: Any) -> Score:
        value = roc_auc_score(inputs.abnormal.numpy(), inputs.scores.numpy())
        return Score(value, {"images": len(inputs.scores)})


class DistanceToMean(AnomalyScorer):
    name: ClassVar[str] = "distance-to-mean"
    summary: ClassVar[str] = "squared distance to the mean normal image"

    def fit(self, train: Split, val: Split, context) -> None:
        normal = self.data.class_names.index(self.data.normal_class)
        SEEN["anomaly-fit"] = (len(train), len(val))
        for split in (train, val):  # no abnormal image or label may reach the method
            assert (split["label"] == normal).all(), "fit received an abnormal image"
        images = [image for image in context.batches(train, 4)]
        self.mean = torch.cat(images).mean(0)

    def score(self, images: torch.Tensor) -> torch.Tensor:
        return ((images - self.mean) ** 2).flatten(1).mean(1)


class AnomalyPlugin:
    @hookimpl
    def register_tasks(self, register):
        register(AnomalyTask())

    @hookimpl
    def register_metrics(self, register):
        register(ImageAUROC())

    @hookimpl
    def register_methods(self, register):
        register(DistanceToMean)


def test_an_abnormality_task_fits_on_normal_images_only(runner, make_tiny_host,
                                                        tmp_path: Path) -> None:
    SEEN.clear()
    host = make_tiny_host(AnomalyPlugin())
    record = run_record(runner, host, tmp_path, "--method", "distance-to-mean", "--task",
                        "toy-anomaly")
    assert record["status"]["state"] == "ok", record["status"]
    # tiny-phantom cycles through four classes: a quarter of each split is normal.
    assert SEEN["anomaly-fit"] == (TINY_SIZES["train"] // 4, TINY_SIZES["val"] // 4)
    assert record["training"]["fit_data"]["train"]["size"] == TINY_SIZES["train"] // 4
    assert record["metrics"]["auroc_toy"]["status"] == "ok"
    assert 0.0 <= record["metrics"]["auroc_toy"]["value"] <= 1.0
    # Synthesis metrics are not offered to this task, and its metric not to synthesis.
    assert set(record["metrics"]) == {"auroc_toy"}
    result = runner.invoke(app, ["run", "--method", "gaussian", "--task", "synthesis",
                                 "--metrics", "auroc_toy", "--out", str(tmp_path / "x")],
                           obj=host)
    assert result.exit_code == 1 and "does not score task 'synthesis'" in result.output


def test_a_dataset_that_cannot_serve_a_task_is_refused_before_running(
        runner, make_host, tmp_path: Path) -> None:
    host = make_host(AnomalyPlugin(), TranslationPlugin())
    result = runner.invoke(app, ["run", "--method", "distance-to-mean", "--task",
                                 "toy-anomaly", "--dataset", "paired-toy",
                                 "--out", str(tmp_path / "runs")], obj=host)
    assert result.exit_code == 1
    assert "Dataset 'paired-toy' cannot serve task 'toy-anomaly'" in result.output
    assert "declares no normal_class" in result.output
    assert not (tmp_path / "runs").exists()
