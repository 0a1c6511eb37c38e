"""Overlap (Dice, IoU) and boundary distance (HD95) of predicted label maps, per class.

Every value is computed per test image and class, then averaged over images; the metric's
value is the mean over the foreground classes, and `details.per_class` holds each class.

Empty masks, where the definitions divide by zero, follow one documented convention:

- truth and prediction both empty (a correct "nothing here", e.g. no lesion on a normal
  slice): Dice 1, IoU 1, HD95 0;
- exactly one of them empty (a missed or an invented structure): Dice 0, IoU 0, HD95 the
  image diagonal, the largest distance the image allows (MONAI would return NaN or inf and
  leave the image out, which rewards missing a structure altogether).

`details.empty` counts both cases per class, so a reader sees how much they weigh.
"""

from __future__ import annotations

import math
import warnings
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np
import scipy
import torch
from scipy.ndimage import binary_erosion, distance_transform_edt
from torchmetrics.functional.segmentation import dice_score, mean_iou

from medbench.api import Metric, MetricInputs, Score, SegmentationInputs, hookimpl

PERCENTILE = 95.0


def emptiness(truth: torch.Tensor, predicted: torch.Tensor,
              index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) bool each: class `index` is absent from the truth; from the prediction."""
    return ((truth == index).flatten(1).sum(1) == 0,
            (predicted == index).flatten(1).sum(1) == 0)


def overlap(truth: torch.Tensor, predicted: torch.Tensor, classes: int,
            kind: str) -> torch.Tensor:
    """(N, classes - 1) Dice or IoU per image and foreground class, empty masks as above."""
    with warnings.catch_warnings():
        # dice_score warns that its `average` default will change; it is set here.
        warnings.filterwarnings("ignore", message="dice_score metric currently defaults")
        if kind == "dice":
            values = dice_score(predicted, truth, num_classes=classes, include_background=False,
                                average="none", input_format="index",
                                aggregation_level="samplewise")
        else:
            values = mean_iou(predicted, truth, num_classes=classes, include_background=False,
                              per_class=True, input_format="index")
    values = values.reshape(len(truth), classes - 1).double()
    for index in range(1, classes):
        truth_empty, predicted_empty = emptiness(truth, predicted, index)
        values[truth_empty & predicted_empty, index - 1] = 1.0
        values[truth_empty ^ predicted_empty, index - 1] = 0.0
    return values


def surface(mask: np.ndarray) -> np.ndarray:
    """A region's boundary pixels: those with a 4-neighbour outside it (MONAI's edges)."""
    return mask & ~binary_erosion(mask, border_value=0)


def hd95(truth: np.ndarray, predicted: np.ndarray, spacing: float = 1.0) -> float:
    """Symmetric 95th-percentile Hausdorff distance between two boolean masks.

    MONAI's definition: the 95th percentile of the distances from each boundary pixel of
    one mask to the nearest boundary pixel of the other, the larger of the two directions.
    Written here because torchmetrics' Hausdorff distance has no percentile.
    """
    truth_empty, predicted_empty = not truth.any(), not predicted.any()
    if truth_empty and predicted_empty:
        return 0.0
    if truth_empty or predicted_empty:
        return math.hypot(*truth.shape) * spacing
    edges_t, edges_p = surface(truth), surface(predicted)
    to_truth = distance_transform_edt(~edges_t, sampling=spacing)
    to_predicted = distance_transform_edt(~edges_p, sampling=spacing)
    return float(max(np.percentile(to_truth[edges_p], PERCENTILE),
                     np.percentile(to_predicted[edges_t], PERCENTILE)))


class SegmentationMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = SegmentationInputs

    def compute(self, inputs: SegmentationInputs, options: Any) -> Score:
        values = self.per_image(inputs)  # (N, foreground classes)
        names = inputs.class_names[1:]
        per_class = {name: float(values[:, i].mean()) for i, name in enumerate(names)}
        present, empty = {}, {}
        for index, name in enumerate(names, start=1):
            truth_empty, predicted_empty = emptiness(inputs.truth, inputs.predicted, index)
            # The class over the images that hold it: no credit for empty agreement.
            present[name] = float(values[~truth_empty, index - 1].mean())
            empty[name] = {"both": int((truth_empty & predicted_empty).sum()),
                           "one": int((truth_empty ^ predicted_empty).sum())}
        # The trivial floor: background everywhere scores this under the same convention.
        nothing = SegmentationInputs(inputs.truth, torch.zeros_like(inputs.truth),
                                     inputs.class_names, inputs.spacing_mm, inputs.context)
        details = {"per_class": per_class, "per_class_where_present": present, "empty": empty,
                   "convention": "both empty: Dice 1, IoU 1, HD95 0; one empty: Dice 0, "
                                 "IoU 0, HD95 the image diagonal",
                   "empty_prediction": float(self.per_image(nothing).mean(dim=1).mean())}
        details.update(self.extra(inputs, values))
        return Score(float(values.mean(dim=1).mean()), {"test": len(values)}, details)

    def per_image(self, inputs: SegmentationInputs) -> torch.Tensor:
        raise NotImplementedError

    def extra(self, inputs: SegmentationInputs, values: torch.Tensor) -> dict[str, Any]:
        return {}


class Dice(SegmentationMetric):
    name = "dice"
    summary = "Dice per image and class, averaged; the value is the mean over classes"
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "Dice"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)

    @property
    def implementation(self) -> tuple[str, str]:
        return "torchmetrics.functional.segmentation.dice_score", version("torchmetrics")

    def per_image(self, inputs: SegmentationInputs) -> torch.Tensor:
        return overlap(inputs.truth, inputs.predicted, len(inputs.class_names), "dice")


class IoU(SegmentationMetric):
    name = "iou"
    summary = "Intersection over union per image and class, averaged; mean over classes"
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "IoU"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)

    @property
    def implementation(self) -> tuple[str, str]:
        return "torchmetrics.functional.segmentation.mean_iou", version("torchmetrics")

    def per_image(self, inputs: SegmentationInputs) -> torch.Tensor:
        return overlap(inputs.truth, inputs.predicted, len(inputs.class_names), "iou")


class HD95(SegmentationMetric):
    name = "hd95"
    summary = "95th-percentile Hausdorff distance per image and class (pixels; mm in details)"
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "pixels"

    @property
    def implementation(self) -> tuple[str, str]:
        return "medbench (scipy.ndimage distance transforms)", scipy.__version__

    def per_image(self, inputs: SegmentationInputs) -> torch.Tensor:
        truth, predicted = inputs.truth.numpy(), inputs.predicted.numpy()
        values = [[hd95(truth[i] == index, predicted[i] == index)
                   for index in range(1, len(inputs.class_names))] for i in range(len(truth))]
        return torch.tensor(values, dtype=torch.float64)

    def extra(self, inputs: SegmentationInputs, values: torch.Tensor) -> dict[str, Any]:
        if inputs.spacing_mm is None:
            return {"mm": None, "mm_note": "the dataset declares no pixel spacing"}
        return {"mm": float(values.mean(dim=1).mean()) * inputs.spacing_mm,
                "spacing_mm": inputs.spacing_mm}


@hookimpl
def register_metrics(register) -> None:
    for metric in (Dice(), IoU(), HD95()):
        register(metric)
