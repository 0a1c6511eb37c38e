"""Pretrained weights that a metric or feature space needs, declared by their official release.

A plugin declares them (``Metric.weights``); the harness fetches them before training where
a network exists, verifies them and keeps them in torch hub's checkpoint folder, where
torchvision and pytorch-fid look too. Offline, or where a download fails, the metric is
unavailable with a one-line hint, and the run goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEX = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class PinnedWeights:
    """One weights file as its publisher releases it.

    ``sha256`` is the whole hex digest, or the prefix the publisher pins where only that is
    published (torch hub's convention: the first 8 hex digits in the file name, as for
    pytorch-fid's Inception weights). A download whose digest does not start with it is
    deleted, never used.
    """

    name: str  # the release's file name, and its name in the cache
    url: str
    sha256: str
    publisher: str  # who releases it, in a few words, for the one-line hints
    size_bytes: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise ValueError(f"weights name {self.name!r} must be a plain file name")
        if not _HEX.match(self.sha256):
            raise ValueError(f"weights '{self.name}': sha256 must be 8-64 lowercase hex "
                             f"digits, got {self.sha256!r}")
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"weights '{self.name}': url must be http(s), got {self.url!r}")

    def cache_path(self) -> Path:
        """Where the weights are kept: $TORCH_HOME/hub/checkpoints/NAME."""
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints" / self.name

    def matches(self, sha256: str) -> bool:
        """Whether a file with this digest is the published one."""
        return sha256.lower().startswith(self.sha256)

    @property
    def pinned_by(self) -> str:
        return "SHA-256" if len(self.sha256) == 64 else \
            f"the publisher's SHA-256 prefix {self.sha256}"
