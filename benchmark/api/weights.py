"""Pretrained weights that a metric or feature space needs, declared by their official release.

A plugin declares them (``Metric.weights``); the harness fetches them before training where
a network exists, verifies them and keeps them in torch hub's checkpoint folder, where
torchvision and pytorch-fid look too. Offline, or where a download fails, the metric is
unavailable with a one-line hint, and the run goes on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medbench.api.metric import MetricUnavailable

_HEX = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class PinnedWeights:
    """One weights file as its publisher releases it.

    ``sha256`` is the whole hex digest, or the prefix the publisher pins where only that is
    published (torch hub's convention: the first 8 hex digits in the file name, as for
    pytorch-fid's Inception weights). A download whose digest does not start with it is
    deleted, never used.

    ``sha256=None`` says that neither the publisher nor medbench's maintainers have pinned a
    digest yet (Meta publishes none for SwAV or DINOv2, and pinning one needs a download).
    Such a file is used as downloaded, and every value computed with it records the file's
    own SHA-256, so values from different files are never mistaken for each other.
    """

    name: str  # the release's file name, and its name in the cache
    url: str
    sha256: str | None
    publisher: str  # who releases it, in a few words, for the one-line hints
    size_bytes: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name in (".", ".."):
            raise ValueError(f"weights name {self.name!r} must be a plain file name")
        if self.sha256 is not None and not _HEX.match(self.sha256):
            raise ValueError(f"weights '{self.name}': sha256 must be 8-64 lowercase hex "
                             f"digits, got {self.sha256!r}")
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"weights '{self.name}': url must be http(s), got {self.url!r}")

    def cache_path(self) -> Path:
        """Where the weights are kept: $TORCH_HOME/hub/checkpoints/NAME."""
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints" / self.name

    def matches(self, sha256: str) -> bool:
        """Whether a file with this digest is the published one (any file, when unpinned)."""
        return self.sha256 is None or sha256.lower().startswith(self.sha256)

    @property
    def pinned_by(self) -> str:
        if self.sha256 is None:
            return "no published digest yet; its SHA-256 is recorded with every value"
        return "SHA-256" if len(self.sha256) == 64 else \
            f"the publisher's SHA-256 prefix {self.sha256}"

    def resolve(self, given: Path | None, option: str) -> Path:
        """The file to read: `given` (a user's path), else the cache.

        Raises MetricUnavailable with a one-line hint of what to put where when it is
        missing; `option` names the metric option that takes a path.
        """
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise MetricUnavailable(f"{option} {path} does not exist")
            return path
        path = self.cache_path()
        if not path.is_file():
            raise MetricUnavailable(
                f"{self.publisher} weights ({self.name}) not found in this machine's torch "
                f"hub cache",
                hint=f"run `medbench weights fetch {self.name}` where a network exists, or "
                     f"download {self.url} to {path} (or anywhere, then pass "
                     f"--metric-option '*.{option}=PATH').")
        return path


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read once per path and modification time."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
