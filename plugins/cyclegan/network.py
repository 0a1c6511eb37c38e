"""CycleGAN's networks (Zhu et al. 2017, appendix 7.2): a ResNet generator and a PatchGAN
discriminator, both with instance normalisation.

Generator: c7s1-w, d2w, d4w, `blocks` residual blocks at 4w, u2w, uw, c7s1-C (tanh), with
reflection padding. The paper uses 6 blocks at 128 px and 9 at 256 px.
Discriminator: the components' PatchGAN with instance norm, on the single image.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, width: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7),
                                   nn.InstanceNorm2d(width), nn.ReLU()]
        for scale in (1, 2):
            layers += [nn.Conv2d(width * scale, width * scale * 2, 3, 2, 1),
                       nn.InstanceNorm2d(width * scale * 2), nn.ReLU()]
        layers += [ResidualBlock(width * 4) for _ in range(blocks)]
        for scale in (4, 2):
            layers += [nn.ConvTranspose2d(width * scale, width * scale // 2, 3, 2, 1,
                                          output_padding=1),
                       nn.InstanceNorm2d(width * scale // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
