"""The DCGAN-shaped networks every anomaly method here is built from: an encoder that maps an
image to a vector (also the discriminator, with one output), and a decoder that maps a vector
to an image (also the generator). Square power-of-two images of at least 8 pixels."""

from __future__ import annotations

import torch
from torch import nn

from medbench.plugins.components.losses import gradient_norm_penalty
from medbench.plugins.components.networks import downsampling_layers, upsampling_layers


class Encoder(nn.Module):
    """image (N, C, S, S) in [-1, 1] -> (N, out_dim): strided convs down to 4x4, then one
    4x4 convolution. As a discriminator (out_dim 1), `features` are the 4x4 maps that
    feature matching compares. `norm=False` drops batch norm (a WGAN-GP critic, whose
    penalty is per sample)."""

    def __init__(self, channels: int, image_size: int, width: int, out_dim: int,
                 norm: bool = True) -> None:
        super().__init__()
        layers, features = downsampling_layers(
            channels, image_size, width, "an anomaly method",
            norm=nn.BatchNorm2d if norm else None, bias=not norm)
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
        self.net = nn.Sequential(*upsampling_layers(latent_dim, channels, image_size, width,
                                                    "an anomaly method", out_bias=True))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def gradient_penalty(critic: Encoder, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty at u real + (1 - u) fake: the same points in distribution as the
    shared `gradient_penalty`'s, in this method's own arithmetic, kept so that f-AnoGAN's
    reference numbers do not move."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    return gradient_norm_penalty(critic, alpha * real + (1 - alpha) * fake)


def residual_map(images: torch.Tensor, reconstructions: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W): the absolute residual averaged over channels, in [0, 1] image units."""
    return (images - reconstructions).abs().mean(dim=1, keepdim=True) / 2
