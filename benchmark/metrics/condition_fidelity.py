"""Condition fidelity: does the generated image respect the map it was conditioned on?

A reference segmenter, trained once per dataset version and image size on the train split's
real (target image, source map) pairs, segments the generated images; its Dice against the
input map is the score. The same segmenter on the real test images gives the ceiling,
recorded beside the value, and the SHA-256 of its weights identifies it. The segmenter and
its fixed recipe are written here because no maintained library ships one for these
images; Dice itself comes from torchmetrics.
"""

from __future__ import annotations

import hashlib
import warnings
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.segmentation import dice_score

from medbench.api import (
    ConditionInputs,
    Metric,
    MetricInputs,
    Score,
    derived_generator,
    hookimpl,
)

RECIPE_VERSION = 1
STEPS = 250
BATCH = 32
WIDTH = 16
LEARNING_RATE = 2e-3
SEED = 31


class Segmenter(nn.Module):
    """A small U-Net: two poolings, BatchNorm and ReLU, one logit per pixel."""

    def __init__(self, channels: int, width: int = WIDTH) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(c_out), nn.ReLU(),
                                 nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(c_out), nn.ReLU())

        self.enc1, self.enc2 = block(channels, width), block(width, 2 * width)
        self.middle = block(2 * width, 4 * width)
        self.dec2, self.dec1 = block(6 * width, 2 * width), block(3 * width, width)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.middle(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([F.interpolate(m, scale_factor=2.0), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], 1))
        return self.head(d1)


def foreground(maps: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) maps in [0, 1] -> (N, 1, H, W) bool (ConditionInputs' rule)."""
    return maps.sum(dim=1, keepdim=True) >= 0.5


def train_segmenter(images: torch.Tensor, maps: torch.Tensor, device: torch.device,
                    seed: int = SEED, stream: str = "condition-segmenter",
                    steps: int | None = None, anneal: bool = False) -> Segmenter:
    """The fixed recipe: BCE plus soft Dice, Adam, STEPS batches drawn with a fixed seed.

    Other users of the recipe pass their own `seed`, `stream` and `steps`; `anneal` decays
    the learning rate to zero on a cosine over the steps, which steadies the final weights
    (lesion synthesis's downstream arms compare two trainings, so their noise matters)."""
    steps = STEPS if steps is None else steps
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = Segmenter(images.shape[1]).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps) if anneal \
        else None
    generator = derived_generator(seed, stream)
    truth = foreground(maps).float()
    net.train()
    for _ in range(steps):
        index = torch.randint(len(images), (min(BATCH, len(images)),), generator=generator)
        x, y = images[index].to(device), truth[index].to(device)
        logits = net(x)
        probability = torch.sigmoid(logits)
        soft_dice = 1 - (2 * (probability * y).sum() + 1) / (probability.sum() + y.sum() + 1)
        loss = F.binary_cross_entropy_with_logits(logits, y) + soft_dice
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if schedule is not None:
            schedule.step()
    return net.eval()


def flatten_state(net: nn.Module) -> torch.Tensor:
    return torch.cat([t.detach().double().flatten().cpu() for t in net.state_dict().values()])


def state_sha256(flat: torch.Tensor) -> str:
    """The SHA-256 of flattened weights (little-endian float64): what identifies a trained
    reference model in a record."""
    return hashlib.sha256(np.ascontiguousarray(flat.numpy(), "<f8").tobytes()).hexdigest()


def load_flat_state(net: nn.Module, flat: torch.Tensor) -> None:
    state, start = {}, 0
    for key, tensor in net.state_dict().items():
        state[key] = flat[start : start + tensor.numel()].view_as(tensor).to(tensor.dtype)
        start += tensor.numel()
    net.load_state_dict(state)


def segment(net: nn.Module, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([net(images[i : i + 100].to(device)).cpu() > 0
                          for i in range(0, len(images), 100)])


def per_image_dice(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Foreground Dice of each image (N, 1, H, W) bool pair."""
    with warnings.catch_warnings():
        # It warns that `average`'s default will change; medbench sets it explicitly.
        warnings.filterwarnings("ignore", message="dice_score metric currently defaults")
        return _dice(predicted, truth)


def _dice(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    return dice_score(predicted.long().squeeze(1), truth.long().squeeze(1), num_classes=2,
                      include_background=False, average="micro", input_format="index",
                      aggregation_level="samplewise")


class ConditionDice(Metric):
    name = "condition_dice"
    summary = ("Dice between the input map and a reference segmenter's map of the generated "
               "image; the ceiling (real images) is recorded beside it")
    reads: ClassVar[type[MetricInputs]] = ConditionInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "Dice"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    cost = "moderate"

    @property
    def implementation(self) -> tuple[str, str]:
        return ("torchmetrics.functional.segmentation.dice_score on a medbench reference "
                "segmenter", version("torchmetrics"))

    def compute(self, inputs: ConditionInputs, options: Any) -> Score:
        device = inputs.context.device
        train = inputs.train
        net = Segmenter(train["target"].shape[1]).to(device)
        # Training differs between devices (kernels), so each device trains its own.
        key = (f"{inputs.context.split_keys['train']}/condition-segmenter-v{RECIPE_VERSION}-"
               f"{train.info.field('target').name}-{device.type}")
        rows = sum(t.numel() for t in net.state_dict().values())
        flat = inputs.context.features.get_or_compute(
            key, lambda: flatten_state(train_segmenter(train["target"], train["source"],
                                                       device)), rows=rows)
        load_flat_state(net, flat)
        net.eval()
        truth = foreground(inputs.source)
        generated = per_image_dice(segment(net, inputs.predicted, device), truth)
        real = per_image_dice(segment(net, inputs.target, device), truth)
        sha = state_sha256(flat)
        return Score(float(generated.mean()), {"test": len(generated)}, {
            "real_images_dice": float(real.mean()),
            "std_over_images": float(generated.std()) if len(generated) > 1 else 0.0,
            "segmenter_sha256": sha,
            "segmenter_recipe": f"v{RECIPE_VERSION}: U-Net width {WIDTH}, {STEPS} Adam steps "
                                f"of {BATCH}, BCE + soft Dice, seed {SEED}, trained on the "
                                f"train split's real pairs",
        })


@hookimpl
def register_metrics(register) -> None:
    register(ConditionDice())
