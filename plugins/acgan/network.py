"""AC-GAN's networks: a DCGAN-shaped generator fed the class, and a discriminator with two
heads, real/fake and the class (power-of-two image sizes >= 8)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _depth(image_size: int) -> int:
    depth = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (depth + 2) != image_size:
        raise ValueError(f"AC-GAN needs a power-of-two image size >= 8, got {image_size}")
    return depth


class ConditionalGenerator(nn.Module):
    """(z, class) -> image in [-1, 1]. The class enters as a learnt embedding multiplied
    into z, as in the paper's ImageNet model."""

    def __init__(self, latent_dim: int, classes: int, channels: int, image_size: int,
                 width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        self.embed = nn.Embedding(classes, latent_dim)
        features = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, features, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(features), nn.ReLU(True)]
        for _ in range(depth - 1):
            layers += [nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(features // 2), nn.ReLU(True)]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net((z * self.embed(labels))[:, :, None, None])


class AuxiliaryDiscriminator(nn.Module):
    """image -> (real/fake logit (N,), class logits (N, classes))."""

    def __init__(self, classes: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        features = width
        for _ in range(depth - 1):
            layers += [nn.Conv2d(features, features * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(features * 2), nn.LeakyReLU(0.2, inplace=True)]
            features *= 2
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.source = nn.Linear(features * 16, 1)
        self.classes = nn.Linear(features * 16, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.source(h).flatten(), self.classes(h)


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation, which the paper's models follow."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 1.0, 0.02)
