"""The segmentation protocol: a method that labels every pixel, and what segmentation
metrics read."""

from __future__ import annotations

from abc import abstractmethod

import torch

from medbench.api.method import Method
from medbench.api.metric import MetricInputs
from medbench.api.task import EvalContext

SEGMENT_CHUNK = 250  # the most images asked of `segment` in one call


class SegmentationMethod(Method):
    """A method that learns to label each pixel of an image.

    `fit` receives a split with the fields ``image`` and ``mask``, a label map whose values
    are the task's classes (``data.field("mask").value_names``, background first).
    """

    @abstractmethod
    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """Class scores (n, num_classes, H, W) for images (n, C, H, W) in [0, 1].

        Any real scores (logits or probabilities): each pixel's label is its argmax. Calls
        come in chunks of at most SEGMENT_CHUNK images, under torch.no_grad(); the harness
        does not call ``eval()``.
        """


class SegmentationInputs(MetricInputs):
    """What segmentation metrics read: true and predicted label maps of the test images.

    `truth` and `predicted` are int64 (N, H, W) with values indexing `class_names`
    (0 = background). `spacing_mm` is the pixel spacing at the run's size, or None.
    """

    def __init__(self, truth: torch.Tensor, predicted: torch.Tensor,
                 class_names: tuple[str, ...], spacing_mm: float | None,
                 context: EvalContext) -> None:
        super().__init__(context)
        self.truth, self.predicted = truth, predicted
        self.class_names, self.spacing_mm = class_names, spacing_mm
