"""The DCGAN-shaped networks every anomaly method here is built from: an encoder that maps an
image to a vector (also the discriminator, with one output), and a decoder that maps a vector
to an image (also the generator). Square power-of-two images of at least 8 pixels."""

from __future__ import annotations

import math

import torch
from torch import nn


def _depth(image_size: int) -> int:
    depth = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (depth + 2) != image_size:
        raise ValueError(f"a power-of-two image size >= 8 is needed, got {image_size}")
    return depth


class Encoder(nn.Module):
    """image (N, C, S, S) in [-1, 1] -> (N, out_dim): strided convs down to 4x4, then one
    4x4 convolution. As a discriminator (out_dim 1), `features` are the 4x4 maps that
    feature matching compares. `norm=False` drops batch norm (a WGAN-GP critic, whose
    penalty is per sample)."""

    def __init__(self, channels: int, image_size: int, width: int, out_dim: int,
                 norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=not norm),
                                   nn.LeakyReLU(0.2, inplace=True)]
        features = width
        for _ in range(_depth(image_size) - 1):
            layers.append(nn.Conv2d(features, features * 2, 4, 2, 1, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm2d(features * 2))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            features *= 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(features, out_dim, 4, 1, 0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten(1)

    def with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(output, features) from one pass."""
        features = self.body(x)
        return self.head(features).flatten(1), features


class Decoder(nn.Module):
    """(N, latent) -> image (N, C, S, S) in [-1, 1]: DCGAN's generator."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = _depth(image_size)
        features = width * 2 ** (depth - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, features, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(features), nn.ReLU(True)]
        for _ in range(depth - 1):
            layers += [nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(features // 2), nn.ReLU(True)]
            features //= 2
        layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def init_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BN scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def gradient_penalty(critic: Encoder, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): (||grad critic(x_hat)|| - 1)^2 at random
    points between real and generated images."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def residual_map(images: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): the absolute residual averaged over channels, in [0, 1] image units."""
    return (images - reconstructions).abs().mean(dim=1, keepdim=True) / 2
