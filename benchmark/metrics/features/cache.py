"""Reference features of a real split, computed once per (dataset, split, extractor).

Features rather than summary statistics are kept, because kernel distances need them and
a split is small; the Fréchet statistics are a cheap function of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch


class ReferenceFeatureCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, dataset_key: str, split: str, extractor_id: str) -> Path:
        return self.root / dataset_key / f"{split}-{extractor_id}.pt"

    def get_or_compute(self, dataset_key: str, split: str, extractor_id: str,
                       compute: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, bool]:
        """Returns (features, whether they came from the cache)."""
        path = self.path(dataset_key, split, extractor_id)
        if path.exists():
            try:
                return torch.load(path, map_location="cpu", weights_only=True), True
            except (OSError, RuntimeError, EOFError):
                path.unlink(missing_ok=True)  # a corrupt entry is recomputed, never trusted
        features = compute()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".pt.tmp")
            os.close(handle)
            torch.save(features, tmp)
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable cache costs time, not correctness
        return features, False
