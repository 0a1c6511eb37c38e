"""The paper's three stabilisers: equalized learning rate, pixelwise feature normalisation
and the minibatch standard deviation layer (Karras et al. 2018, sections 3 and 4)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EqualizedConv2d(nn.Module):
    """Weights drawn from N(0, 1) and scaled by He's constant at every call, so that Adam's
    per-parameter step sizes act alike on every layer."""

    def __init__(self, c_in: int, c_out: int, kernel: int, padding: int = 0,
                 gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = gain / math.sqrt(c_in * kernel * kernel)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    def __init__(self, c_in: int, c_out: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = gain / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit average square, in the generator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MinibatchStdDev(nn.Module):
    """Appends one feature map: the standard deviation of each feature across a group of
    samples, averaged. A discriminator that sees it can penalise a generator whose samples
    all look alike."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        while n % group:  # the paper needs groups that divide the batch
            group -= 1
        grouped = x.reshape(group, n // group, c, h, w)
        std = (grouped.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (n/group, c, h, w)
        feature = std.mean(dim=(1, 2, 3), keepdim=True).repeat(group, 1, h, w)
        return torch.cat([x, feature], dim=1)
