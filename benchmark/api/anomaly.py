"""The abnormality-detection protocol: a method that learns what normal looks like and scores
how far each test image (and, where it can, each pixel) departs from it.

A method never sees an abnormal image or a label. `fit` receives normal images only, in
splits with the single field ``image``; `score` receives unlabelled test images, normal and
abnormal mixed.
"""

from __future__ import annotations

from abc import abstractmethod

import torch

from medbench.api.method import Method
from medbench.api.metric import MetricInputs
from medbench.api.task import EvalContext

SCORE_CHUNK = 250  # the most images asked of `score` in one call


class AnomalyMethod(Method):
    """A method trained on normal images only that scores test images for abnormality."""

    @abstractmethod
    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Anomaly scores (n,) for images (n, C, H, W) in [0, 1], and an anomaly map
        (n, 1, H, W) or None when the method has no pixel-level score.

        Higher means more abnormal, for scores and maps alike. Return raw values: the harness
        never rescales them, so scores from different calls must be on one scale (no
        normalising per call or per image). Calls come in chunks of at most SCORE_CHUNK
        images. Gradients stay enabled, because a latent search (AnoGAN) needs them: wrap
        forward passes that need none in ``torch.no_grad()``. The harness does not call
        ``eval()``.
        """


class AnomalyInputs(MetricInputs):
    """What abnormality-detection metrics read: the raw scores of the test images and the
    truth.

    - `scores`: float64 (N,), as the method returned them;
    - `abnormal`: bool (N,), the image holds a finding;
    - `kinds`: the finding of each image by name (the normal class for normal images);
    - `maps`: float32 (N, H, W) anomaly maps, or None when the method gives none;
    - `lesions`: bool (N, H, W) pixels of the finding, or None when the dataset has no
      lesion masks;
    - `score_seconds`: the method's time for all N images.
    """

    def __init__(self, scores: torch.Tensor, abnormal: torch.Tensor, kinds: tuple[str, ...],
                 maps: torch.Tensor | None, lesions: torch.Tensor | None,
                 score_seconds: float, context: EvalContext) -> None:
        super().__init__(context)
        self.scores, self.abnormal, self.kinds = scores, abnormal, kinds
        self.maps, self.lesions, self.score_seconds = maps, lesions, score_seconds
