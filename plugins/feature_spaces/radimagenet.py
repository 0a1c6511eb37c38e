"""RadImageNet ResNet-50 (Mei et al., Radiology: AI 2022): supervised on 1.35 M CT, MR and
ultrasound images.

Its weights come from the user: RadImageNet distributes them on request under its own
terms, so medbench pins no URL and fetches nothing. medbench reads them as a torchvision
ResNet-50 state dict (the layout of the PyTorch conversions in use; a 'module.' or
'backbone.' prefix and a classifier head are ignored) and records the file's SHA-256 with
every value. Values from different files are therefore never mixed up, but are not
comparable with each other either.

Preprocessing follows the RadImageNet FID of MONAI Generative and NVIDIA's MAISI: channels in
BGR order with ImageNet's mean subtracted and no scaling (RadImageNet's Keras training
convention); features are the 2048-d global average of the last feature map. Woodland et
al. (MICCAI 2024) found distances in this space volatile; it is here to show that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from medbench.plugins.feature_spaces.pretrained import (
    IMAGENET_MEAN,
    RGB_STEPS,
    PretrainedExtractor,
    check_given,
    normalise,
    pretrained_space,
    resnet50_trunk,
    rgb_224,
)

PREFIXES = ("module.", "backbone.")  # as saved from a DataParallel or a wrapping model
HEAD = ("fc.",)  # RadImageNet's 165-class classifier, or ImageNet's


class RadImageNetExtractor(PretrainedExtractor):
    name = "radimagenet"
    dims = 2048
    release = None
    option = "radimagenet_weights"
    architecture = "torchvision ResNet-50 trunk, 2048-d global average pool"
    preprocessing = (f"{RGB_STEPS}, channels reversed to BGR, ImageNet's BGR mean "
                     f"subtracted, no std scaling")

    def missing_weights(self) -> tuple[str, str]:
        return ("RadImageNet's ResNet-50 weights are not on this machine; its authors "
                "distribute them on request, so medbench cannot fetch them",
                "get RadImageNet-ResNet50 from the RadImageNet authors, save it as a "
                "torchvision ResNet-50 state dict, and pass --metric-option "
                "'*.radimagenet_weights=PATH'")

    def build(self, state: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        return resnet50_trunk(state, PREFIXES, HEAD, self.name, path)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        bgr = rgb_224(images).flip(1)
        return normalise(bgr, tuple(reversed(IMAGENET_MEAN)))


@dataclass(frozen=True)
class RadImageNetOptions:
    # A torchvision ResNet-50 state dict of RadImageNet's weights; required.
    radimagenet_weights: Path | None = None

    def __post_init__(self) -> None:
        check_given(self.radimagenet_weights, "radimagenet_weights")


RADIMAGENET = pretrained_space(
    RadImageNetExtractor, "RadImageNet ResNet-50 features (supervised, CT/MR/US; user's "
    "weights)", RadImageNetOptions)
