"""Bounds checks for methods' Config dataclasses, called from `__post_init__`, so that a
typo (`--set width=10**12`, `lr=-1e-4`) fails in one line before a network is built."""

from __future__ import annotations

from typing import Any


def check_config(config: Any, bounds: dict[str, tuple[float, float]] | None = None,
                 positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
                 betas: tuple[str, ...] = ()) -> None:
    """ValueError naming the first setting out of range: `bounds` {name: (low, high)},
    inclusive; `positive` > 0; `non_negative` >= 0; `betas` (Adam's) in [0, 1)."""
    for name, (low, high) in (bounds or {}).items():
        if not low <= getattr(config, name) <= high:
            raise ValueError(f"{name} must lie in [{low:g}, {high:g}], "
                             f"got {getattr(config, name)}")
    for name in positive:
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)}")
    for name in non_negative:
        if not getattr(config, name) >= 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
    for name in betas:
        if not 0 <= getattr(config, name) < 1:
            raise ValueError(f"{name} must lie in [0, 1), got {getattr(config, name)}")


def counts(*names: str, most: int = 4096) -> dict[str, tuple[float, float]]:
    """Bounds [1, most] for each named count (widths, batch sizes, steps)."""
    return {name: (1, most) for name in names}
