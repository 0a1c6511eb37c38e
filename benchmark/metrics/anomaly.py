"""Abnormality-detection metrics on raw scores: image-level AUROC, AUPRC and sensitivity at
95 % specificity; pixel-level AUROC and the best Dice of the thresholded anomaly map.

No score or map is normalised against the test set (per image or by the test set's range),
which other tools do and which inflates pixel-level results. These metrics depend only on
the order of the values, pooled over the whole test split, and torchmetrics computes them.
One detail: torchmetrics passes values outside [0, 1] through a sigmoid, which saturates
(every score above ~37 becomes 1.0) and would turn large raw scores into ties. So the
values are handed over as their ranks over the pooled test split, scaled into (0, 1]: the
same order, the same ties, the same metrics. Thresholds are reported in raw units.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.stats import rankdata
from torchmetrics.functional.classification import (
    binary_auroc,
    binary_average_precision,
    binary_precision_recall_curve,
    binary_sensitivity_at_specificity,
)

from medbench.api import AnomalyInputs, Metric, MetricInputs, MetricUnavailable, Score, hookimpl

SPECIFICITY = 0.95


class Ranked:
    """Values as dense ranks scaled into (0, 1], and the way back to raw thresholds."""

    def __init__(self, values: torch.Tensor) -> None:
        raw = values.detach().double().flatten().numpy()
        self.unique = np.unique(raw)  # sorted
        self.ranks = torch.from_numpy(rankdata(raw, method="dense") / len(self.unique))

    def raw(self, threshold: float) -> float:
        """The raw value at a scaled rank (a threshold torchmetrics returned)."""
        index = int(round(threshold * len(self.unique))) - 1
        return float(self.unique[min(max(index, 0), len(self.unique) - 1)])


def both_kinds(target: torch.Tensor, what: str) -> None:
    """Ranking metrics need positives and negatives; else MetricUnavailable."""
    positives = int(target.sum())
    if positives == 0 or positives == target.numel():
        kind = "normal" if positives == 0 else "abnormal"
        raise MetricUnavailable(f"every test {what} is {kind}: the metric needs both kinds",
                                hint="score more test images (--budget with more eval samples)")


class ImageMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = AnomalyInputs
    higher_is_better: ClassVar[bool] = True
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)

    @property
    def implementation(self) -> tuple[str, str]:
        return f"torchmetrics.functional.classification.{self.function}", version("torchmetrics")

    function: ClassVar[str]

    def compute(self, inputs: AnomalyInputs, options: Any) -> Score:
        target = inputs.abnormal.long()
        both_kinds(target, "image")
        ranked = inputs.shared("image-ranks", lambda: Ranked(inputs.scores))
        value, details = self.value(ranked, target)
        n = len(target)
        details.update(normal=int((target == 0).sum()), abnormal=int(target.sum()),
                       score_seconds_per_image=inputs.score_seconds / n)
        return Score(value, {"test": n}, details)

    def value(self, ranked: Ranked, target: torch.Tensor) -> tuple[float, dict[str, Any]]:
        raise NotImplementedError


class ImageAUROC(ImageMetric):
    name = "image_auroc"
    summary = "AUROC of the image scores, abnormal vs normal (0.5 is chance)"
    units: ClassVar[str] = "AUROC"
    function: ClassVar[str] = "binary_auroc"

    def compute(self, inputs: AnomalyInputs, options: Any) -> Score:
        score = super().compute(inputs, options)
        normal = [i for i, abnormal in enumerate(inputs.abnormal.tolist()) if not abnormal]
        per_kind = {}
        for kind in sorted(set(inputs.kinds) - {inputs.kinds[i] for i in normal}):
            index = normal + [i for i, name in enumerate(inputs.kinds) if name == kind]
            per_kind[kind] = float(binary_auroc(Ranked(inputs.scores[index]).ranks,
                                                inputs.abnormal[index].long()))
        score.details["per_kind"] = per_kind  # each finding against the normal images
        return score

    def value(self, ranked: Ranked, target: torch.Tensor) -> tuple[float, dict[str, Any]]:
        return float(binary_auroc(ranked.ranks, target)), {}


class ImageAUPRC(ImageMetric):
    name = "image_auprc"
    summary = "Average precision of the image scores (chance: the share of abnormal images)"
    units: ClassVar[str] = "average precision"
    function: ClassVar[str] = "binary_average_precision"

    def value(self, ranked: Ranked, target: torch.Tensor) -> tuple[float, dict[str, Any]]:
        return (float(binary_average_precision(ranked.ranks, target)),
                {"chance": float(target.float().mean())})


class SensitivityAtSpecificity(ImageMetric):
    name = "sensitivity_at_95_specificity"
    summary = "Share of abnormal images flagged at a threshold that clears 95 % of normal ones"
    units: ClassVar[str] = "sensitivity"
    function: ClassVar[str] = "binary_sensitivity_at_specificity"

    def value(self, ranked: Ranked, target: torch.Tensor) -> tuple[float, dict[str, Any]]:
        sensitivity, threshold = binary_sensitivity_at_specificity(ranked.ranks, target,
                                                                   SPECIFICITY)
        # At sensitivity 0 no threshold flags an abnormal image; torchmetrics then returns
        # the top score, which would flag a normal one: no threshold is reported.
        raw = ranked.raw(float(threshold)) if float(sensitivity) > 0 else None
        return float(sensitivity), {"specificity": SPECIFICITY, "threshold": raw,
                                    "rule": "abnormal when score >= threshold; threshold "
                                            "chosen on the test split"}


class PixelMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = AnomalyInputs
    higher_is_better: ClassVar[bool] = True
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)

    def pixels(self, inputs: AnomalyInputs) -> tuple[Ranked, torch.Tensor]:
        """Every pixel of every test image, normal images included, pooled."""
        if inputs.lesions is None:
            raise MetricUnavailable("the dataset marks no lesion pixels (no 'lesion' mask "
                                    "value)")
        if inputs.maps is None:
            raise MetricUnavailable("the method gives image scores only, no anomaly maps")
        target = inputs.lesions.flatten().long()
        both_kinds(target, "pixel")
        # Ranking a million pixels once serves both pixel metrics.
        return inputs.shared("pixel-ranks", lambda: Ranked(inputs.maps)), target

    def score(self, inputs: AnomalyInputs, value: float, **details: Any) -> Score:
        return Score(value, {"test": len(inputs.maps), "pixels": inputs.maps.numel()},
                     {"lesion_pixels": int(inputs.lesions.sum()), **details})


class PixelAUROC(PixelMetric):
    name = "pixel_auroc"
    summary = "AUROC of the anomaly maps' pixels, lesion vs not, pooled over the test images"
    units: ClassVar[str] = "AUROC"

    @property
    def implementation(self) -> tuple[str, str]:
        return "torchmetrics.functional.classification.binary_auroc", version("torchmetrics")

    def compute(self, inputs: AnomalyInputs, options: Any) -> Score:
        ranked, target = self.pixels(inputs)
        return self.score(inputs, float(binary_auroc(ranked.ranks, target)))


class PixelBestDice(PixelMetric):
    name = "pixel_best_dice"
    summary = ("Dice of the anomaly maps thresholded at the best single threshold for the "
               "test split (an upper bound: the threshold is chosen on the test set)")
    units: ClassVar[str] = "Dice"

    @property
    def implementation(self) -> tuple[str, str]:
        return ("torchmetrics.functional.classification.binary_precision_recall_curve",
                version("torchmetrics"))

    def compute(self, inputs: AnomalyInputs, options: Any) -> Score:
        ranked, target = self.pixels(inputs)
        # Pooled Dice at a threshold is the F1 score of the pixels: 2PR / (P + R).
        precision, recall, thresholds = binary_precision_recall_curve(ranked.ranks, target)
        precision, recall = precision[:-1].double(), recall[:-1].double()
        dice = torch.nan_to_num(2 * precision * recall / (precision + recall))
        best = int(dice.argmax())
        return self.score(inputs, float(dice[best]),
                          threshold=ranked.raw(float(thresholds[best])),
                          precision=float(precision[best]), recall=float(recall[best]),
                          rule="lesion where map >= threshold; one threshold for the whole "
                               "test split, chosen there (Baur et al. 2021's best Dice)")


@hookimpl
def register_metrics(register) -> None:
    for metric in (ImageAUROC(), ImageAUPRC(), SensitivityAtSpecificity(), PixelAUROC(),
                   PixelBestDice()):
        register(metric)
