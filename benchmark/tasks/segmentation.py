"""Segmentation: the method labels every pixel of the test images; the metrics compare its
label maps with the true ones.

The task chooses which of the dataset's mask values are its classes (by name); every other
value is background. On the phantom: liver and lesion, so a method must find small lesions
inside the organ, and 40 % of slices (the normal ones) have no lesion at all.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import ClassVar

import torch

from medbench.api import (
    SEGMENT_CHUNK,
    DatasetSpec,
    EvalContext,
    EvalSplits,
    Method,
    MetricInputs,
    Predictions,
    SegmentationInputs,
    SegmentationMethod,
    Split,
    Task,
    hookimpl,
)
from medbench.tasks.image_to_image import as_rgb
from medbench.tasks.samples import check_samples

PREVIEW_PAIRS = 18  # image, prediction, truth side by side in the run's preview grid


class SegmentationTask(Task):
    name: ClassVar[str] = "segmentation"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Label liver and lesion pixels of CT slices; Dice, IoU and HD95 "
                              "per class, with the empty-mask conventions documented")
    default_dataset: ClassVar[str] = "phantom"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "mask")
    method_protocol: ClassVar[type[Method]] = SegmentationMethod
    inputs: ClassVar[type[MetricInputs]] = SegmentationInputs
    classes: ClassVar[tuple[str, ...]] = ("liver", "lesion")  # mask value names; rest: background
    # Sized from measured throughput on a 2-core CPU: the U-Net (width 16) trains ~190 img/s
    # at 64x64 and the adversarial U-Net ~110 img/s. Lesions need 64 px.
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {
        "smoke": {"image_size": 64, "train_images": 6_000, "eval_samples": 1500}}

    def dataset_problem(self, dataset: DatasetSpec) -> str | None:
        problem = super().dataset_problem(dataset)
        if problem:
            return problem
        missing = [name for name in self.classes
                   if name not in dataset.field("mask").value_names]
        if missing:
            return f"its mask names no value {', '.join(missing)}"
        return None

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """Images, and masks whose values are the task's classes (0 = background)."""
        return self._labelled(train), self._labelled(val)

    def _labelled(self, split: Split) -> Split:
        mask_field = split.info.field("mask")
        mask = torch.zeros_like(split["mask"], dtype=torch.int64)
        for index, name in enumerate(self.classes, start=1):
            mask[split["mask"] == mask_field.value_names.index(name)] = index
        field = replace(mask_field, dtype="int64", value_names=("background", *self.classes))
        fields = {"image": split.info.field("image"), "mask": field}
        return Split(split.name, {"image": split["image"], "mask": mask},
                     replace(split.info, fields=fields))

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, SegmentationMethod)
        test = self._labelled(splits.test)
        test = test.subset(torch.arange(min(context.num_samples, len(test))))
        tick = time.perf_counter()
        predicted = self._segment(method, test["image"], context)
        predict_seconds = round(time.perf_counter() - tick, 3)
        truth = test["mask"][:, 0]
        inputs = SegmentationInputs(truth, predicted, ("background", *self.classes),
                                    test.info.pixel_spacing_mm, context)
        return Predictions(inputs, preview=self._preview(test["image"], predicted, truth),
                           predict_seconds=predict_seconds)

    def _segment(self, method: SegmentationMethod, images: torch.Tensor,
                 context: EvalContext) -> torch.Tensor:
        expected = (len(self.classes) + 1, *images.shape[2:])
        chunks = []
        with context.progress.bar("segment", total=len(images)) as bar, torch.no_grad():
            for start in range(0, len(images), SEGMENT_CHUNK):
                batch = images[start : start + SEGMENT_CHUNK]
                scores = method.segment(batch.to(context.device))
                check_samples(method.name, scores, len(batch), expected,
                              what="class scores", unit_range=False)
                chunks.append(scores.detach().float().argmax(dim=1).cpu())
                bar.advance(len(batch))
        return torch.cat(chunks)

    def _preview(self, images: torch.Tensor, predicted: torch.Tensor,
                 truth: torch.Tensor) -> torch.Tensor:
        scale = float(len(self.classes))
        rows = []
        for i in range(min(PREVIEW_PAIRS, len(images))):
            rows += [as_rgb(images[i]), as_rgb(predicted[i][None].float() / scale),
                     as_rgb(truth[i][None].float() / scale)]
        return torch.stack(rows)


@hookimpl
def register_tasks(register) -> None:
    register(SegmentationTask())
