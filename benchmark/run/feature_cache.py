"""Features of real splits, computed once per (split content, image size, extractor).

Features rather than summary statistics are kept, because kernel distances need them and
a split is small; the Fréchet statistics are a cheap function of them. Each entry carries
its key, row count and SHA-256, checked on every read: a cache file that was edited, cut
short or written for another key is recomputed (with a notice), never trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from medbench.api.storage import atomic_write, tensor_sha256

FORMAT = 2


class ReferenceFeatureCache:
    """Implements medbench.api.task.FeatureStore on a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notices: list[str] = []  # one line per entry that had to be recomputed

    def path(self, key: str) -> Path:
        return self.root / f"{key}.pt"

    def get_or_compute(self, key: str, compute: Callable[[], torch.Tensor],
                       rows: int) -> torch.Tensor:
        path = self.path(key)
        if path.exists():
            features, problem = self._read(path, key, rows)
            if features is not None:
                return features
            self.notices.append(f"Cached reference features {path} {problem}; recomputed them.")
        features = compute()
        if len(features) != rows:
            raise ValueError(f"computed {len(features)} feature rows for {key}, expected {rows}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"format": FORMAT, "key": key, "rows": rows,
                     "sha256": tensor_sha256(features), "features": features}
            with atomic_write(path) as out:
                torch.save(entry, out)
        except OSError:
            pass  # an unwritable cache costs time, not correctness
        return features

    @staticmethod
    def _read(path: Path, key: str, rows: int) -> tuple[torch.Tensor | None, str]:
        try:
            entry: Any = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unreadable in any way: recompute
            return None, f"could not be read ({type(exc).__name__})"
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return None, "has an unknown format"
        features = entry.get("features")
        if entry.get("key") != key:
            return None, "belongs to another key"
        if not isinstance(features, torch.Tensor) or entry.get("rows") != rows \
                or len(features) != rows:
            got = len(features) if isinstance(features, torch.Tensor) else "no"
            return None, f"holds {got} rows, expected {rows}"
        if tensor_sha256(features) != entry.get("sha256"):
            return None, "failed its checksum (edited or corrupted)"
        return features, ""
