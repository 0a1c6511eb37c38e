"""DCGAN-shaped trunks (Radford et al. 2016), which dcgan, wgan-gp, acgan and the anomaly
methods are built from, DCGAN's initialisation, and the PatchGAN discriminator of pix2pix
and CycleGAN (Isola et al. 2017)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


def dcgan_depth(image_size: int, method: str) -> int:
    """Halvings from image_size down to 4x4; square power-of-two sizes >= 8 only."""
    depth = int(math.log2(image_size)) - 2
    if image_size < 8 or 2 ** (depth + 2) != image_size:
        raise ValueError(f"{method} needs a power-of-two image size >= 8, got {image_size}")
    return depth


def upsampling_layers(latent_dim: int, channels: int, image_size: int, width: int,
                      method: str, bias: bool = False,
                      out_bias: bool | None = None) -> list[nn.Module]:
    """DCGAN's generator: (N, latent, 1, 1) -> (N, channels, S, S) in [-1, 1] through
    fractionally strided 4x4 convolutions, batch norm and ReLU, from `width` x 2^(depth-1)
    channels down to `width`. `out_bias` (default: `bias`) is the last convolution's."""
    depth = dcgan_depth(image_size, method)
    features = width * 2 ** (depth - 1)
    layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, features, 4, 1, 0, bias=bias),
                               nn.BatchNorm2d(features), nn.ReLU(True)]
    for _ in range(depth - 1):
        layers += [nn.ConvTranspose2d(features, features // 2, 4, 2, 1, bias=bias),
                   nn.BatchNorm2d(features // 2), nn.ReLU(True)]
        features //= 2
    last_bias = bias if out_bias is None else out_bias
    layers += [nn.ConvTranspose2d(features, channels, 4, 2, 1, bias=last_bias), nn.Tanh()]
    return layers


def downsampling_layers(channels: int, image_size: int, width: int, method: str,
                        norm: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
                        bias: bool = False) -> tuple[list[nn.Module], int]:
    """DCGAN's discriminator without its head: image -> (N, features, 4, 4) through strided
    4x4 convolutions and LeakyReLU 0.2, `norm` (channels -> module; None: none) on all but
    the first. Returns the layers and `features`, the channels they end with."""
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=bias),
                               nn.LeakyReLU(0.2, inplace=True)]
    features = width
    for _ in range(dcgan_depth(image_size, method) - 1):
        layers.append(nn.Conv2d(features, features * 2, 4, 2, 1, bias=bias))
        if norm is not None:
            layers.append(norm(features * 2))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        features *= 2
    return layers, features


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (`net.apply(dcgan_init)`): N(0, 0.02) for convolution weights,
    N(1, 0.02) for batch-norm scales and zero for their shifts; other modules keep theirs."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class PatchDiscriminator(nn.Module):
    """Classifies overlapping patches as real or fake: C(w) then `layers` blocks of
    convolution, norm and LeakyReLU 0.2, the last with stride 1, then a 1-channel
    convolution. `layers` 3 gives the paper's 70x70 patches. Batch norm (pix2pix) makes the
    blocks' convolutions bias-free; instance norm (CycleGAN, no affine) keeps their bias."""

    def __init__(self, in_channels: int, width: int, layers: int,
                 norm: str = "batch") -> None:
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"norm must be 'batch' or 'instance', got '{norm}'")
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        channels = width
        for index in range(1, layers + 1):
            out = width * min(2**index, 8)
            stride = 2 if index < layers else 1
            blocks += [nn.Conv2d(channels, out, 4, stride, 1, bias=norm == "instance"),
                       nn.BatchNorm2d(out) if norm == "batch" else nn.InstanceNorm2d(out),
                       nn.LeakyReLU(0.2)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patch_layers(size: int) -> int:
    """3 strided blocks (70x70 patches) from 64 px up, 2 (34x34) below, so a patch stays
    smaller than the image."""
    return 3 if size >= 64 else 2
