"""SwAV ResNet-50 (Caron et al., NeurIPS 2020): self-supervised ImageNet features.

The space Woodland et al. (MICCAI 2024) found to agree best with radiologists. Features are
the 2048-d global average pool of the ResNet-50 trunk, as in their and dgm-eval's use. The
network is torchvision's ResNet-50, the architecture the official release was trained and
published with (its torch hub entry builds exactly that); the release's projection head and
prototypes are training-only and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from medbench.api import PinnedWeights
from medbench.plugins.feature_spaces.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    RGB_STEPS,
    PretrainedExtractor,
    check_given,
    normalise,
    pretrained_space,
    resnet50_trunk,
    rgb_224,
)

# Meta publishes no checksum for this file; see PinnedWeights on sha256=None.
SWAV_WEIGHTS = PinnedWeights(
    "swav_800ep_pretrain.pth.tar",
    "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar",
    None, publisher="Meta's SwAV ResNet-50 (800 epochs)")
# The release holds DistributedDataParallel keys ('module.conv1.weight') and heads that only
# training used.
PREFIXES = ("module.",)
TRAINING_ONLY = ("projection_head.", "prototypes.")


class SwAVExtractor(PretrainedExtractor):
    name = "swav"
    dims = 2048
    release = SWAV_WEIGHTS
    option = "swav_weights"
    architecture = "torchvision ResNet-50 trunk, 2048-d global average pool"
    preprocessing = f"{RGB_STEPS}, ImageNet mean/std normalisation"

    def build(self, state: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        return resnet50_trunk(state, PREFIXES, TRAINING_ONLY, self.name, path)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        return normalise(rgb_224(images), IMAGENET_MEAN, IMAGENET_STD)


@dataclass(frozen=True)
class SwAVOptions:
    # The release file; None: the torch hub cache, where `medbench weights fetch` puts it.
    swav_weights: Path | None = None

    def __post_init__(self) -> None:
        check_given(self.swav_weights, "swav_weights")


SWAV = pretrained_space(SwAVExtractor, "SwAV ResNet-50 features (self-supervised, ImageNet)",
                        SwAVOptions)
