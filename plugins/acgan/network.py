"""AC-GAN's networks: a DCGAN-shaped generator fed the class, and a discriminator with two
heads, real/fake and the class (power-of-two image sizes >= 8)."""

from __future__ import annotations

import torch
from torch import nn

from medbench.plugins.components.networks import (
    dcgan_init,
    downsampling_layers,
    upsampling_layers,
)


class ConditionalGenerator(nn.Module):
    """(z, class) -> image in [-1, 1]. The class enters as a learnt embedding multiplied
    into z, as in the paper's ImageNet model."""

    def __init__(self, latent_dim: int, classes: int, channels: int, image_size: int,
                 width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(classes, latent_dim)
        self.net = nn.Sequential(*upsampling_layers(latent_dim, channels, image_size, width,
                                                    "AC-GAN"))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net((z * self.embed(labels))[:, :, None, None])


class AuxiliaryDiscriminator(nn.Module):
    """image -> (real/fake logit (N,), class logits (N, classes))."""

    def __init__(self, classes: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        layers, features = downsampling_layers(channels, image_size, width, "AC-GAN")
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.source = nn.Linear(features * 16, 1)
        self.classes = nn.Linear(features * 16, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.source(h).flatten(), self.classes(h)


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation, which the paper's models follow, extended to the heads and
    the class embedding."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 1.0, 0.02)
    else:
        dcgan_init(module)
