"""Features of real splits, computed once per (split content, image size, extractor).

Features rather than summary statistics are kept, because kernel distances need them and
a split is small; the Fréchet statistics are a cheap function of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from medbench.api.storage import atomic_write


class ReferenceFeatureCache:
    """Implements medbench.api.task.FeatureStore on a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{key}.pt"

    def get_or_compute(self, key: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        path = self.path(key)
        if path.exists():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except (OSError, RuntimeError, EOFError):
                path.unlink(missing_ok=True)  # a corrupt entry is recomputed, never trusted
        features = compute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path) as out:
                torch.save(features, out)
        except OSError:
            pass  # an unwritable cache costs time, not correctness
        return features
