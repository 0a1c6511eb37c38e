"""DCGAN generator and discriminator for square images of any power-of-two size >= 8."""

from __future__ import annotations

import torch
from torch import nn

from medbench.plugins.components.networks import downsampling_layers, upsampling_layers


class Generator(nn.Module):
    """z (N, latent, 1, 1) -> image (N, C, S, S) in [-1, 1]: fractionally strided convs."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(*upsampling_layers(latent_dim, channels, image_size, width,
                                                    "DCGAN"))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """image -> one logit per image: strided convs, LeakyReLU, no pooling."""

    def __init__(self, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        layers, features = downsampling_layers(channels, image_size, width, "DCGAN")
        self.net = nn.Sequential(*layers, nn.Conv2d(features, 1, 4, 1, 0, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
