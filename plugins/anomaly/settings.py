"""Checks every anomaly method's settings share, so a typo fails before a network is built."""

from __future__ import annotations

from typing import Any


def check_settings(config: Any, counts: tuple[str, ...], rates: tuple[str, ...] = (),
                   weights: tuple[str, ...] = ()) -> None:
    """Counts in [1, 4096], rates > 0, loss weights >= 0; else ValueError."""
    for name in counts:
        if not 1 <= getattr(config, name) <= 4096:
            raise ValueError(f"{name} must lie in [1, 4096], got {getattr(config, name)}")
    for name in rates:
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)}")
    for name in weights:
        if not getattr(config, name) >= 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
