"""What the image-producing protocols demand of a method's images, checked on every chunk,
and how the tasks show them in a run's preview grid."""

from __future__ import annotations

from typing import Any

import torch


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
