"""Choosing the device: the harness decides, methods just use what they are given."""

from __future__ import annotations

import torch

from medbench.api.errors import DeviceError


def available_devices() -> list[str]:
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def resolve_device(requested: str | None) -> torch.device:
    """`None` or "auto" picks cuda, then mps, then cpu."""
    available = available_devices()
    if requested in (None, "auto"):
        return torch.device(available[0])
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise DeviceError(
            f"'{requested}' is not a device name. Use one of: auto, {', '.join(available)}."
        ) from None
    if device.type not in available:
        raise DeviceError(
            f"Device '{requested}' is not available on this machine (available: "
            f"{', '.join(available)}). Pass --device {available[0]} or omit --device."
        )
    count = torch.cuda.device_count()
    if device.type == "cuda" and device.index is not None and device.index >= count:
        raise DeviceError(
            f"Device '{requested}' does not exist: this machine has "
            f"{torch.cuda.device_count()} CUDA device(s)."
        )
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type
