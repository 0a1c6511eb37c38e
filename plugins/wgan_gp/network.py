"""WGAN-GP's DCGAN-shaped generator and its critic, for power-of-two image sizes >= 8.

The critic has no batch normalisation: the gradient penalty is taken per sample, which
batch statistics would couple. It uses layer normalisation instead, the drop-in the paper
recommends (Gulrajani et al. 2017, section 4).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _depth(image_size: int) -> int:
    depth = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (depth + 2) != image_size:
        raise ValueError(f"WGAN-GP needs a power-of-two image size >= 8, got {image_size}")
    return depth


class Generator(nn.Module):
    """z (N, latent) -> image (N, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        features = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [nn.Unflatten(1, (latent_dim, 1, 1)),
                                   nn.ConvTranspose2d(latent_dim, features, 4, 1, 0),
                                   nn.BatchNorm2d(features), nn.ReLU(True)]
        for _ in range(depth - 1):
            layers += [nn.ConvTranspose2d(features, features // 2, 4, 2, 1),
                       nn.BatchNorm2d(features // 2), nn.ReLU(True)]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Critic(nn.Module):
    """image -> one unbounded score per image (no sigmoid: it estimates a Wasserstein gap)."""

    def __init__(self, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        features = width
        for _ in range(depth - 1):
            layers += [nn.Conv2d(features, features * 2, 4, 2, 1),
                       nn.GroupNorm(1, features * 2), nn.LeakyReLU(0.2)]
            features *= 2
        layers.append(nn.Conv2d(features, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     ) -> torch.Tensor:
    """E[(||grad critic(x_hat)||_2 - 1)^2] on random interpolates of real and fake images."""
    mix = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    interpolates = (real + mix * (fake - real)).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()
