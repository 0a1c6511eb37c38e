"""What a dataset plugin provides, and the split objects that methods receive."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitArrays:
    """One split as stored: uint8 images, int64 labels, optional uint8 label-map masks."""

    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64
    masks: np.ndarray | None = None  # (N, H, W) uint8

    def __len__(self) -> int:
        return len(self.images)

    def sha256(self) -> str:
        """Content hash over the canonical bytes of every field, shapes included."""
        digest = hashlib.sha256()
        fields = (("images", self.images), ("labels", self.labels), ("masks", self.masks))
        for name, array in fields:
            if array is None:
                continue
            canonical = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
            header = f"{name}:{canonical.dtype.str}:{list(canonical.shape)};"
            digest.update(header.encode())
            digest.update(canonical.tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class Split:
    """A split handed to a method: tensors only, with no link back to the other splits."""

    name: str
    images: torch.Tensor  # (N, C, H, W) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64
    class_names: tuple[str, ...]
    masks: torch.Tensor | None = None  # (N, 1, H, W) uint8 label map

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])


@dataclass(frozen=True)
class DataInfo:
    """What a method may know about the data before it sees any: shapes and classes."""

    image_size: int
    channels: int
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class SplitManifest:
    size: int
    sha256: str
    class_counts: dict[str, int] = field(default_factory=dict)


class DatasetSpec(ABC):
    """A dataset definition: how to build it, its card, and its pinned split manifest."""

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str]
    modality: ClassVar[str]
    native_size: ClassVar[int]
    channels: ClassVar[int] = 1
    class_names: ClassVar[tuple[str, ...]]
    fields: ClassVar[tuple[str, ...]] = ("image", "label")

    @abstractmethod
    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        """Return every split in SPLITS, building and caching it under `cache_dir` if needed."""

    def card(self) -> str:
        """The dataset card (Markdown) shipped beside the dataset's module."""
        return self._resource("CARD.md").read_text(encoding="utf-8")

    def manifest(self) -> dict[str, SplitManifest]:
        """The committed manifest that pins each split's size and content hash."""
        raw = json.loads(self._resource("manifest.json").read_text(encoding="utf-8"))
        if raw.get("version") != self.version:
            raise ValueError(f"{self.name}: manifest is for version {raw.get('version')}")
        return {name: SplitManifest(**entry) for name, entry in raw["splits"].items()}

    def _resource(self, filename: str):  # noqa: ANN202 - importlib.resources Traversable
        return resources.files(type(self).__module__.rpartition(".")[0]).joinpath(filename)
