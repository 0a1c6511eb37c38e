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
    Field,
    Method,
    MetricInputs,
    Predictions,
    SegmentationInputs,
    SegmentationMethod,
    Split,
    Task,
    hookimpl,
)
from medbench.tasks.samples import (
    PANEL_CASES,
    as_rgb,
    check_samples,
    columns_panel,
    contour_overlay,
)

PREVIEW_PAIRS = 12  # image, prediction, truth: two triples per row of the preview grid


class SegmentationTask(Task):
    name: ClassVar[str] = "segmentation"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Label liver and lesion pixels of CT slices; Dice, IoU and HD95 "
                              "per class, with the empty-mask conventions documented")
    default_dataset: ClassVar[str] = "phantom"
    primary_metric: ClassVar[str | None] = "dice"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "mask")
    method_protocol: ClassVar[type[Method]] = SegmentationMethod
    inputs: ClassVar[type[MetricInputs]] = SegmentationInputs
    classes: ClassVar[tuple[str, ...]] = ("liver", "lesion")  # mask value names; rest: background
    # Sized from measured throughput on a 2-core CPU (leaderboards/evidence.md): the
    # U-Net (width 16) trains ~95 img/s at 64x64, the adversarial U-Net ~85 img/s. Lesions
    # need 64 px. Halved from 6,000 images so that the reference leaderboard fits in an hour
    # (leaderboards/README.md); a smoke run takes about 45 s.
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {
        "smoke": {"image_size": 64, "train_images": 3_000, "eval_samples": 1500}}

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

    image_field: ClassVar[str] = "image"

    def label_map(self, split: Split) -> torch.Tensor:
        """(N, 1, H, W) int64: the index of each pixel's class in `classes` + 1, else 0."""
        names = split.info.field("mask").value_names
        mask = torch.zeros_like(split["mask"], dtype=torch.int64)
        for index, name in enumerate(self.classes, start=1):
            mask[split["mask"] == names.index(name)] = index
        return mask

    def _labelled(self, split: Split) -> Split:
        """What methods and metrics see: ``image`` and a ``mask`` of the task's classes."""
        field = Field("mask", "mask", "int64", value_names=("background", *self.classes),
                      description=f"{self.name} classes")
        fields = {"image": replace(split.info.field(self.image_field), name="image"),
                  "mask": field}
        return Split(split.name, {"image": split[self.image_field],
                                  "mask": self.label_map(split)},
                     replace(split.info, fields=fields))

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, SegmentationMethod)
        # The method answers on the images alone: the masks are read afterwards.
        asked = splits.test_inputs(self.image_field)
        cases = torch.arange(min(context.num_samples, len(asked)))
        images = asked.subset(cases)[self.image_field]
        del asked
        tick = time.perf_counter()
        predicted = self._segment(method, images, context)
        predict_seconds = round(time.perf_counter() - tick, 3)
        test = self._labelled(splits.test).subset(cases)
        truth = test["mask"][:, 0]
        inputs = SegmentationInputs(truth, predicted, ("background", *self.classes),
                                    test.info.pixel_spacing_mm, context)
        cases = min(PANEL_CASES, len(predicted))
        overlays = torch.stack([contour_overlay(test["image"][i], predicted[i], truth[i],
                                                len(self.classes)) for i in range(cases)])
        panel = columns_panel([test["image"][:cases], overlays],
                              ["image", "true (green) and predicted (red) borders of "
                               f"{', '.join(self.classes)}; yellow: both"],
                              f"test cases 0-{cases - 1}, the same for every method")
        return Predictions(inputs, preview=self._preview(test["image"], predicted, truth),
                           predict_seconds=predict_seconds, panel=panel)

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


class VesselSegmentationTask(SegmentationTask):
    """Retinal vessels in fundus photographs: thin, branching, about 8 % of the pixels."""

    name: ClassVar[str] = "vessel-segmentation"
    summary: ClassVar[str] = ("Label the vessel pixels of fundus photographs (retina phantom); "
                              "Dice, IoU and HD95")
    default_dataset: ClassVar[str] = "retina"
    required_fields: ClassVar[tuple[str, ...]] = ("fundus", "vessels")
    image_field: ClassVar[str] = "fundus"
    classes: ClassVar[tuple[str, ...]] = ("vessel",)
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {
        "smoke": {"image_size": 64, "train_images": 3_000, "eval_samples": 500}}

    def dataset_problem(self, dataset: DatasetSpec) -> str | None:
        return Task.dataset_problem(self, dataset)

    def label_map(self, split: Split) -> torch.Tensor:
        """A pixel is vessel where arteries and veins cover at least half of it."""
        return (split["vessels"].sum(dim=1, keepdim=True) >= 0.5).long()


@hookimpl
def register_tasks(register) -> None:
    register(SegmentationTask())
    register(VesselSegmentationTask())
