"""pix2pix's networks (Isola et al. 2017): the U-Net generator (shared, in
`medbench.plugins.components.unet`) and the PatchGAN critic on (source, target) pairs."""

from __future__ import annotations

import torch

from medbench.plugins.components.networks import PatchDiscriminator
from medbench.plugins.components.unet import UNetGenerator

__all__ = ["PairDiscriminator", "UNetGenerator"]


class PairDiscriminator(PatchDiscriminator):
    """The PatchGAN critic on a (source, target) pair, stacked as channels; batch norm."""

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([source, target], dim=1))
