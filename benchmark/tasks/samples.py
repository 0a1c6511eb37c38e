"""What the synthesis protocol demands of generated images, checked on every chunk."""

from __future__ import annotations

from typing import Any

import torch


class SampleError(Exception):
    """The method's samples break the synthesis protocol (shape, range, NaN)."""


def check_samples(method: str, images: Any, n: int, expected: tuple[int, int, int]) -> None:
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (n, *expected):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise SampleError(f"method '{method}' returned samples of shape {shape}, expected "
                          f"{(n, *expected)}")
    if not torch.isfinite(images).all():
        raise SampleError(f"method '{method}' returned non-finite pixel values")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise SampleError(f"method '{method}' returned pixels in [{low:.3f}, {high:.3f}], "
                          f"expected [0, 1]")
