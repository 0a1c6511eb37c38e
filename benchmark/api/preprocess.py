"""The one preprocessing path: windowing, intensity scaling, channels and resizing.

Every dataset, built-in, public or a lab's own, goes through these functions, and every
record names ``PREPROCESSING_VERSION``, so two runs on the same files are comparable.
Change any output of this module and the version must change with it: decoded caches are
keyed by it.

Resizing is anti-aliased when shrinking: area averaging (``torch`` adaptive average
pooling, a box filter over each output pixel's footprint); bilinear when enlarging; nearest
neighbour for label maps. FID studies (Parmar et al., CVPR 2022, "On aliased resizing and
surprising subtleties in GAN evaluation") show that an aliasing resizer alone shifts scores,
so no dataset may bring its own.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

PREPROCESSING_VERSION = "1"

ResizeMode = Literal["area", "nearest"]


def resize(tensor: torch.Tensor, size: int, mode: ResizeMode) -> torch.Tensor:
    """``(N, C, H, W)`` to ``(N, C, size, size)``: area averaging when shrinking (bilinear
    when enlarging) for images, nearest neighbour for label maps; dtype kept."""
    if tensor.shape[-2:] == (size, size):
        return tensor
    if mode == "nearest":
        return F.interpolate(tensor.float(), size=(size, size), mode="nearest").to(tensor.dtype)
    floating = tensor if tensor.is_floating_point() else tensor.float()
    shrinking = size < tensor.shape[-1]
    resized = F.interpolate(floating, size=(size, size),
                            mode="area" if shrinking else "bilinear",
                            align_corners=None if shrinking else False)
    if tensor.is_floating_point():
        return resized
    info = torch.iinfo(tensor.dtype)
    return resized.round_().clamp_(info.min, info.max).to(tensor.dtype)


def resize_array(array: np.ndarray, size: int, mode: ResizeMode) -> np.ndarray:
    """`resize` for NumPy: ``(N, H, W)`` or ``(N, C, H, W)``, dtype kept (rounded)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    squeeze = tensor.ndim == 3
    if squeeze:
        tensor = tensor.unsqueeze(1)
    if tensor.dtype in (torch.uint16, torch.uint32):  # few kernels for these
        out = resize(tensor.to(torch.int64), size, mode).numpy().astype(array.dtype)
    else:
        out = resize(tensor, size, mode).numpy()
    return out[:, 0] if squeeze else out


def window(values: np.ndarray, level: float, width: float) -> np.ndarray:
    """CT in HU (or any units) to 8 bits through a display window: ``level - width/2`` -> 0,
    ``level + width/2`` -> 255, clipped, rounded half to even."""
    low = level - width / 2
    scaled = (np.asarray(values, dtype=np.float64) - low) * 255.0 / width
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def rescale_to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear ``[low, high]`` to 0-255, clipped: `window` by its ends."""
    return window(values, (low + high) / 2, high - low)


def channels_first(image: np.ndarray, channels: int) -> np.ndarray:
    """One image as ``(H, W)`` for one channel or ``(C, H, W)``, from ``(H, W)``,
    ``(H, W, C)`` or ``(C, H, W)``. Grey images asked for in colour are repeated; RGBA
    drops alpha; colour asked for in grey is refused (the caller says so)."""
    array = np.asarray(image)
    if array.ndim == 2:
        grey = array
    elif array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3):
        grey = array[..., 0] if array.shape[-1] == 1 else None
        colour = np.moveaxis(array[..., :3], -1, 0)
    elif array.ndim == 3 and array.shape[0] in (1, 3):
        grey = array[0] if array.shape[0] == 1 else None
        colour = array
    else:
        raise ValueError(f"an image of shape {array.shape} is neither (H, W), (H, W, C) nor "
                         f"(C, H, W)")
    if channels == 1:
        if grey is None:
            raise ValueError("a colour image where one channel is declared")
        return grey
    if grey is not None:
        return np.repeat(grey[None], channels, axis=0)
    return colour


def pad_to_square(array: np.ndarray, fill: float) -> np.ndarray:
    """``(..., H, W)`` padded evenly on both sides to ``(..., S, S)``, ``S = max(H, W)``,
    with `fill` (air in HU, background 0): no pixel is cropped or stretched."""
    height, width = array.shape[-2:]
    size = max(height, width)
    top, left = (size - height) // 2, (size - width) // 2
    pad = [(0, 0)] * (array.ndim - 2) + [(top, size - height - top), (left, size - width - left)]
    return np.pad(array, pad, constant_values=fill)


def split_patients(patients: list[str], seed: int,
                   fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> dict[str, str]:
    """Patient -> ``train``, ``val`` or ``test``: a seeded shuffle of the sorted patients,
    at least one patient per split, so that no patient is in two splits."""
    unique = sorted(set(patients))
    if len(unique) < 3:
        raise ValueError(f"{len(unique)} patient(s) cannot fill train, val and test")
    order = np.random.default_rng(seed).permutation(len(unique))
    val = max(1, round(len(unique) * fractions[1]))
    test = max(1, round(len(unique) * fractions[2]))
    split_of = {}
    for rank, index in enumerate(order):
        split_of[unique[index]] = "val" if rank < val else "test" if rank < val + test \
            else "train"
    return split_of
