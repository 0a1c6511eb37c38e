"""DCGAN generator and discriminator for square images of any power-of-two size >= 8."""

from __future__ import annotations

import math

import torch
from torch import nn


def _depth(image_size: int) -> int:
    depth = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (depth + 2) != image_size:
        raise ValueError(f"DCGAN needs a power-of-two image size >= 8, got {image_size}")
    return depth


class Generator(nn.Module):
    """z (N, latent, 1, 1) -> image (N, C, S, S) in [-1, 1]: fractionally strided convs."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        features = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, features, 4, 1, 0, bias=False),
            nn.BatchNorm2d(features),
            nn.ReLU(True),
        ]
        for _ in range(depth - 1):
            layers += [
                nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(features // 2),
                nn.ReLU(True),
            ]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """image -> one logit per image: strided convs, LeakyReLU, no pooling."""

    def __init__(self, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        features = width
        for _ in range(depth - 1):
            layers += [
                nn.Conv2d(features, features * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(features * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            features *= 2
        layers.append(nn.Conv2d(features, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BN scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
