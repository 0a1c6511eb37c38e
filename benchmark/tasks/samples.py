"""What the image-producing protocols demand of a method's images, checked on every chunk,
and how the tasks show them in a run's preview grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from medbench.api import Panel

PANEL_CASES = 6  # rows of a fixed-case panel
PANEL_PER_CLASS = 8  # generated images per class in a synthesis panel
TRUE_CONTOUR = torch.tensor([0.1, 0.9, 0.1])  # green
PREDICTED_CONTOUR = torch.tensor([1.0, 0.15, 0.15])  # red; yellow where both


class SampleError(Exception):
    """The method's images break its protocol (shape, dtype, range, NaN)."""


def check_samples(method: str, images: Any, n: int, expected: tuple[int, ...],
                  what: str = "samples", unit_range: bool = True) -> None:
    """Shape (n, *expected), a floating dtype, finite values, in [0, 1] when `unit_range`
    (images; class scores may be any real numbers); else SampleError."""
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (n, *expected):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise SampleError(f"method '{method}' returned {what} of shape {shape}, expected "
                          f"{(n, *expected)}")
    if not images.is_floating_point():
        raise SampleError(f"method '{method}' returned {what} of dtype {images.dtype}, "
                          f"expected floats{' in [0, 1]' if unit_range else ''}")
    if not torch.isfinite(images).all():
        raise SampleError(f"method '{method}' returned non-finite {what}")
    if not unit_range:
        return
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise SampleError(f"method '{method}' returned pixels in [{low:.3f}, {high:.3f}], "
                          f"expected [0, 1]")


def as_rgb(image: torch.Tensor) -> torch.Tensor:
    """(C, H, W) -> (3, H, W): gray repeated; two channels as red and blue (arteries, veins)."""
    if image.shape[0] == 1:
        return image.expand(3, -1, -1)
    if image.shape[0] == 2:
        return torch.stack([image[0], torch.zeros_like(image[0]), image[1]])
    return image[:3]


def columns_panel(columns: Sequence[torch.Tensor], names: Sequence[str],
                  cases: str) -> Panel:
    """One row per case, one column per tensor (each (N, C, H, W) in [0, 1])."""
    rows = [as_rgb(column[i]) for i in range(len(columns[0])) for column in columns]
    return Panel(torch.stack(rows), len(columns),
                 f"rows: {cases}; columns: {' | '.join(names)}")


def synthesis_panel(images: torch.Tensor, labels: torch.Tensor | None,
                    class_names: Sequence[str]) -> Panel:
    """Per class a row of its first generated images where the method was asked for
    classes; else the first images drawn, in rows of eight."""
    if labels is None:
        shown = images[: 4 * PANEL_PER_CLASS]
        return Panel(torch.stack([as_rgb(image) for image in shown]), PANEL_PER_CLASS,
                     f"the first {len(shown)} generated images, in rows of {PANEL_PER_CLASS}")
    rows, named = [], []
    for index, name in enumerate(class_names):
        members = images[labels == index][:PANEL_PER_CLASS]
        if len(members) == 0:
            continue
        blank = torch.ones(PANEL_PER_CLASS - len(members), *images.shape[1:])
        rows += [as_rgb(image) for image in torch.cat([members, blank])]
        named.append(name)
    return Panel(torch.stack(rows), PANEL_PER_CLASS,
                 f"one row per class ({', '.join(named)}): its first {PANEL_PER_CLASS} "
                 f"generated images")


def contour(region: torch.Tensor) -> torch.Tensor:
    """(H, W) bool -> the region's border pixels (the region minus its 3x3 erosion)."""
    eroded = -F.max_pool2d(-region.float()[None, None], 3, stride=1, padding=1)[0, 0]
    return region & (eroded < 0.5)


def contour_overlay(image: torch.Tensor, predicted: torch.Tensor, truth: torch.Tensor,
                    classes: int) -> torch.Tensor:
    """(C, H, W) image with every class's true border in green and predicted border in red
    (yellow where they agree); `predicted`, `truth`: (H, W) class indices."""
    out = as_rgb(image).clone()
    true_edge = torch.zeros(truth.shape, dtype=torch.bool)
    predicted_edge = torch.zeros(truth.shape, dtype=torch.bool)
    for value in range(1, classes + 1):
        true_edge |= contour(truth == value)
        predicted_edge |= contour(predicted == value)
    both = true_edge & predicted_edge
    for edge, colour in ((true_edge, TRUE_CONTOUR), (predicted_edge, PREDICTED_CONTOUR),
                         (both, torch.tensor([1.0, 0.95, 0.1]))):
        out[:, edge] = colour[:, None]
    return out
