"""pix2pix's U-Net generator (Isola et al. 2017), shared by pix2pix and the lesion GAN.

The U-Net halves the image down to 1x1 (4x4 convolutions, stride 2, LeakyReLU 0.2, batch
norm on all but the first), then doubles it back up with transposed convolutions, each
decoder level concatenated with its mirror encoder level; the three innermost decoder levels
use dropout 0.5. Widths double from `width` up to 8 x `width`, as the paper's C64...C512.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class UNetGenerator(nn.Module):
    """With `residual`, the output is the input plus a learnt correction (no tanh): residual
    learning as in DnCNN (Zhang et al. 2017), for targets in the source's own units."""

    def __init__(self, in_channels: int, out_channels: int, size: int, width: int,
                 dropout: float = 0.5, residual: bool = False) -> None:
        super().__init__()
        if residual and in_channels != out_channels:
            raise ValueError("a residual U-Net needs as many output channels as input ones")
        self.residual = residual
        depth = int(math.log2(size))
        if 2**depth != size or depth < 2:
            raise ValueError(f"the U-Net needs a power-of-two image size >= 4, got {size}")
        widths = [min(width * 2**level, width * 8) for level in range(depth)]
        self.down = nn.ModuleList()
        for level in range(depth):
            c_in = in_channels if level == 0 else widths[level - 1]
            layers: list[nn.Module] = [nn.Conv2d(c_in, widths[level], 4, 2, 1,
                                                 bias=level in (0, depth - 1))]
            if 0 < level < depth - 1:  # no norm at the 1x1 bottleneck either (batch of 1 px)
                layers.append(nn.BatchNorm2d(widths[level]))
            layers.append(nn.LeakyReLU(0.2))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for level in reversed(range(1, depth)):
            c_in = widths[level] * (1 if level == depth - 1 else 2)
            layers = [nn.ConvTranspose2d(c_in, widths[level - 1], 4, 2, 1, bias=False),
                      nn.BatchNorm2d(widths[level - 1])]
            if level >= depth - 3 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.ReLU())
            self.up.append(nn.Sequential(*layers))
        self.out = nn.Sequential(nn.ConvTranspose2d(widths[0] * 2, out_channels, 4, 2, 1),
                                 nn.Identity() if residual else nn.Tanh())
        if residual:  # start as the identity: the correction is learnt from zero
            nn.init.zeros_(self.out[0].weight)
            nn.init.zeros_(self.out[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        source = x
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the decoder directly
        for block in self.up:
            x = torch.cat([block(x), skips.pop()], dim=1)
        return source + self.out(x) if self.residual else self.out(x)
