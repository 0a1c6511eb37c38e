"""WGAN-GP's DCGAN-shaped generator and its critic, for power-of-two image sizes >= 8.

The critic has no batch normalisation: the gradient penalty is taken per sample, which
batch statistics would couple. It uses layer normalisation instead, the drop-in the paper
recommends (Gulrajani et al. 2017, section 4).
"""

from __future__ import annotations

import torch
from torch import nn

from medbench.plugins.components.networks import downsampling_layers, upsampling_layers


class Generator(nn.Module):
    """z (N, latent) -> image (N, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Unflatten(1, (latent_dim, 1, 1)),
                                 *upsampling_layers(latent_dim, channels, image_size, width,
                                                    "WGAN-GP", bias=True))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _layer_norm(channels: int) -> nn.Module:
    return nn.GroupNorm(1, channels)


class Critic(nn.Module):
    """image -> one unbounded score per image (no sigmoid: it estimates a Wasserstein gap)."""

    def __init__(self, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        layers, features = downsampling_layers(channels, image_size, width, "WGAN-GP",
                                               norm=_layer_norm, bias=True)
        self.net = nn.Sequential(*layers, nn.Conv2d(features, 1, 4, 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()
