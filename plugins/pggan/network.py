"""PGGAN's generator and discriminator: one block per resolution from 4x4 up, each new
block faded in over the previous resolution's output (Karras et al. 2018, figure 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medbench.plugins.pggan.layers import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
)


def resolutions(image_size: int) -> list[int]:
    """4, 8, ..., image_size."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"PGGAN needs a power-of-two image size >= 8, got {image_size}")
    sizes = [4]
    while sizes[-1] < image_size:
        sizes.append(sizes[-1] * 2)
    return sizes


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class Generator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, widths: list[int]) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        first = widths[0]
        self.first = nn.Sequential(PixelNorm(), EqualizedLinear(latent_dim, first * 16,
                                                                gain=1.0 / 4))
        self.first_conv = nn.Sequential(_act(), PixelNorm(),
                                        EqualizedConv2d(first, first, 3, 1), _act(), PixelNorm())
        self.blocks = nn.ModuleList([nn.Identity()])  # index 0: the 4x4 stage above
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            self.blocks.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                EqualizedConv2d(c_in, c_out, 3, 1), _act(), PixelNorm(),
                EqualizedConv2d(c_out, c_out, 3, 1), _act(), PixelNorm()))
        self.to_image = nn.ModuleList([EqualizedConv2d(w, channels, 1, gain=1.0)
                                       for w in widths])

    def forward(self, z: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        """Images at resolution 4 * 2**level; `alpha` < 1 fades that level's block in."""
        x = self.first(z).reshape(len(z), -1, 4, 4)
        x = self.first_conv(x)
        for index in range(1, level):
            x = self.blocks[index](x)
        if level == 0:
            return self.to_image[0](x)
        new = self.to_image[level](self.blocks[level](x))
        if alpha >= 1.0:
            return new
        old = F.interpolate(self.to_image[level - 1](x), scale_factor=2, mode="nearest")
        return old + alpha * (new - old)


class Discriminator(nn.Module):
    def __init__(self, channels: int, widths: list[int], group_size: int) -> None:
        super().__init__()
        self.from_image = nn.ModuleList([nn.Sequential(EqualizedConv2d(channels, w, 1), _act())
                                         for w in widths])
        self.blocks = nn.ModuleList([nn.Identity()])  # index 0: the 4x4 head below
        for c_low, c_high in zip(widths[:-1], widths[1:], strict=True):
            self.blocks.append(nn.Sequential(
                EqualizedConv2d(c_high, c_high, 3, 1), _act(),
                EqualizedConv2d(c_high, c_low, 3, 1), _act(),
                nn.AvgPool2d(2)))
        first = widths[0]
        self.head = nn.Sequential(
            MinibatchStdDev(group_size),
            EqualizedConv2d(first + 1, first, 3, 1), _act(),
            EqualizedConv2d(first, first, 4, 0), _act(),
            nn.Flatten(), EqualizedLinear(first, 1, gain=1.0))

    def forward(self, x: torch.Tensor, level: int, alpha: float = 1.0) -> torch.Tensor:
        h = self.from_image[level](x)
        if level > 0:
            h = self.blocks[level](h)
            if alpha < 1.0:
                old = self.from_image[level - 1](F.avg_pool2d(x, 2))
                h = old + alpha * (h - old)
            for index in range(level - 1, 0, -1):
                h = self.blocks[index](h)
        return self.head(h).flatten()
