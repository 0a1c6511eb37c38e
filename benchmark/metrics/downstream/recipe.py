"""The downstream classifier recipe: fixed, so that every method is scored by the same model.

The recipe (version RECIPE_VERSION; bump it when anything below changes):
- a small CNN: three blocks of 3x3 convolution, batch norm, ReLU and 2x2 max pooling (16, 32
  and 64 channels), global average pooling, dropout 0.2 and a linear layer to the classes;
- Adam (lr 1e-3, weight decay 1e-4), batch 64, cross-entropy;
- a fixed length of STEPS optimisation steps for every arm, whatever its data: arms differ
  only in what they learn from, never in how long they train (about five epochs of the
  phantom's 5000 train images);
- classic augmentation on every batch: a horizontal flip with probability 1/2 and a rotation
  drawn uniformly from +-10 degrees (bilinear, zeros outside);
- batches drawn uniformly from the pooled images (real, or real + synthetic), with a
  generator derived from the run's seed and the arm, so an arm reproduces exactly on one
  machine whatever ran before it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from medbench.api import Bar, derived_generator

RECIPE_VERSION = "1"
STEPS = 400
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
MAX_ROTATION_DEGREES = 10.0
WIDTHS = (16, 32, 64)
DROPOUT = 0.2
EVAL_BATCH = 500


class SmallCNN(nn.Module):
    def __init__(self, channels: int, classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels
        for width in WIDTHS:
            layers += [nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(DROPOUT), nn.Linear(c_in, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(self.features(x), 1))


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and small rotations, one draw per image.

    torchvision's transforms apply one draw to a whole batch; per-image rotations are one
    affine grid, written here with torch's own affine_grid/grid_sample.
    """
    n = len(images)
    flip = torch.rand(n, generator=generator) < 0.5
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(MAX_ROTATION_DEGREES)
    cos, sin = angle.cos(), angle.sin()
    sign = torch.where(flip, -1.0, 1.0)  # a flip negates the x axis of the sampling grid
    theta = torch.stack([torch.stack([cos * sign, -sin, torch.zeros(n)], dim=1),
                         torch.stack([sin * sign, cos, torch.zeros(n)], dim=1)], dim=1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


def train_and_predict(images: torch.Tensor, labels: torch.Tensor, test: torch.Tensor,
                      classes: int, seed: int, arm: str, device: torch.device,
                      bar: Bar) -> torch.Tensor:
    """Train the recipe on (images, labels); class probabilities (N, classes) on `test`."""
    generator = derived_generator(seed, f"downstream-classifier/{arm}")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model = train_classifier(images, labels, classes, generator, device, bar)
        return predict(model, test, device)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, classes: int,
                     generator: torch.Generator, device: torch.device, bar: Bar,
                     steps: int = STEPS) -> SmallCNN:
    """The recipe's model trained on (images, labels), every draw from `generator`, for
    `steps` steps (the downstream arms: always STEPS). It seeds torch's global generator:
    call it inside `torch.random.fork_rng`."""
    torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
    # channels_last: measured twice as fast for these small convolutions on a CPU.
    model = SmallCNN(images.shape[1], classes).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE,
                                 weight_decay=WEIGHT_DECAY)
    model.train()
    for _ in range(steps):
        index = torch.randint(len(images), (BATCH_SIZE,), generator=generator)
        batch = augment(images[index].float(), generator).to(
            device, memory_format=torch.channels_last)
        loss = F.cross_entropy(model(batch), labels[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.advance(1)
    return model.eval()


def predict(model: SmallCNN, test: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Class probabilities (N, classes) of `test`, in batches of EVAL_BATCH."""
    model.eval()
    with torch.no_grad():
        return torch.cat([model(test[start : start + EVAL_BATCH].float().to(
            device, memory_format=torch.channels_last)).softmax(dim=1).cpu()
                          for start in range(0, len(test), EVAL_BATCH)])
