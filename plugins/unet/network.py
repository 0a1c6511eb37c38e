"""The segmentation U-Net (Ronneberger et al. 2015) and the adversarial shape critic
(Luc et al. 2016).

U-Net: `depth` levels of two 3x3 convolutions with batch norm and ReLU, max-pooling down and
transposed convolutions up, each level's features concatenated on the way up; widths double
per level from `width`. The critic sees an image and a per-class label map (a one-hot truth
or the U-Net's softmax) and says whether the map is real: strided convolutions, LeakyReLU,
global average pooling, one logit.
"""

from __future__ import annotations

import torch
from torch import nn


def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
    )


class UNet(nn.Module):
    def __init__(self, in_channels: int, classes: int, width: int, depth: int) -> None:
        super().__init__()
        widths = [width * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList([double_conv(in_channels, widths[0])])
        self.down.extend(double_conv(widths[i], widths[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(depth)))
        self.merge = nn.ModuleList(double_conv(2 * widths[i], widths[i])
                                   for i in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else self.pool(x))
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)


class ShapeCritic(nn.Module):
    def __init__(self, in_channels: int, classes: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels + classes
        for out in (width, 2 * width, 4 * width, 8 * width):
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.LeakyReLU(0.2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.logit = nn.Linear(channels, 1)

    def forward(self, image: torch.Tensor, label_map: torch.Tensor) -> torch.Tensor:
        features = self.features(torch.cat([image, label_map], dim=1))
        return self.logit(features.mean(dim=(2, 3))).squeeze(1)
