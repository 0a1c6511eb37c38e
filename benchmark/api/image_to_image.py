"""The image-to-image protocol: a method that maps a source image to a target image, and
what image-to-image metrics read.

Tasks rename their dataset's fields: whatever the dataset calls them (``mr`` and ``ct``,
``low_dose`` and ``full_dose``, ``vessels`` and ``fundus``), a method's `fit` receives a split
with the fields ``source`` and ``target``, and `translate` gets sources alone. `DataInfo`
still carries each field's declaration (channels, units, value range), so a method can learn
what it maps from and to.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch

from medbench.api.data import Field, Split
from medbench.api.method import Method
from medbench.api.synthesis import GeneratedImages
from medbench.api.task import EvalContext

TRANSLATE_CHUNK = 250  # the most images asked of `translate` in one call


class ImageToImageMethod(Method):
    """A method that learns to map source images to target images."""

    # True: `fit` needs aligned pairs (pix2pix). False: it learns from two unpaired sets
    # (CycleGAN), and every task gives it unpaired data, so it cannot exploit pairing.
    paired: ClassVar[bool] = True

    @abstractmethod
    def translate(self, source: torch.Tensor) -> torch.Tensor:
        """Return the target images for `source` (n, C_source, H, W) on the run's device.

        The result is (n, C_target, H, W) float in [0, 1] (the target field's value range
        mapped to [0, 1]), on any device. Calls come in chunks of at most TRANSLATE_CHUNK
        images, under torch.no_grad(). The harness does not call ``eval()``.
        """


@dataclass(frozen=True)
class Scoring:
    """How a task's pixel metrics read its images; recorded with every score.

    - `data_range`: ``"field"`` uses the target field's whole value range (SynthRAD's
      convention, e.g. CT clipped to [-1024, 3000] HU, a range of 4024 HU); ``"target_max"``
      uses each target image's maximum (fastMRI's convention), with values measured from the
      bottom of the field's range.
    - `mask`: True scores only inside the body mask (MAE, PSNR) and averages SSIM's map
      there (SynthRAD); False scores whole images (fastMRI).
    """

    data_range: Literal["field", "target_max"]
    mask: bool
    convention: str  # the published convention this follows, for the record


class ImageToImageInputs(GeneratedImages):
    """What image-to-image metrics read: the test split's sources, targets, the method's
    predictions, and how to score them.

    - `source`, `target`, `predicted`: (N, C, H, W) in [0, 1]; `generated` is `predicted`.
    - `body`: (N, 1, H, W) bool, the pixels that the scoring's mask covers, or None.
    - `input_baseline`: True when source and target share units (denoising): pixel
      metrics then also score the untouched input, so every method shows its gain.
    - `train`: the train split (fields ``source`` and ``target``), for metrics that build a
      reference model once (the condition-fidelity segmenter); never for the method.
    """

    def __init__(self, source: torch.Tensor, target: torch.Tensor, predicted: torch.Tensor,
                 source_field: Field, target_field: Field, scoring: Scoring,
                 body: torch.Tensor | None, input_baseline: bool, train: Split,
                 real_key: str | None, context: EvalContext) -> None:
        super().__init__(target, predicted, None, context)
        self.source, self.target, self.predicted = source, target, predicted
        self.source_field, self.target_field = source_field, target_field
        self.scoring, self.body, self.input_baseline = scoring, body, input_baseline
        self.train = train


class ConditionInputs(ImageToImageInputs):
    """Image-to-image inputs whose source is a binary map that the target must respect (a
    vessel tree, a lesion mask): a pixel is foreground where the source's channels sum to at
    least 0.5. Condition-fidelity metrics read these."""


class HounsfieldInputs(ImageToImageInputs):
    """Image-to-image inputs whose target is CT in Hounsfield units; errors in HU read these."""
