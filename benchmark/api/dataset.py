"""What a dataset plugin provides: its fields, how to build it, its card and pinned manifest."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import ClassVar

from medbench.api.data import DataInfo, Field, SplitArrays


@dataclass(frozen=True)
class SplitManifest:
    """One split's pinned content: its size and hashes, whole and per field."""

    size: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)  # field name -> sha256
    class_counts: dict[str, int] = field(default_factory=dict)


class DatasetSpec(ABC):
    """A dataset definition.

    Subclasses set the class attributes below and implement `build`. A ``CARD.md`` (the
    dataset card) and a ``manifest.json`` (pinned split hashes, written by
    ``medbench datasets manifest NAME``) ship beside the module.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    summary: ClassVar[str]
    modality: ClassVar[str]
    native_size: ClassVar[int]  # height = width of every spatial field as built
    fields: ClassVar[tuple[Field, ...]]
    normal_class: ClassVar[str | None] = None  # label value meaning "no abnormality"
    pixel_spacing_mm: ClassVar[float | None] = None  # at native_size; None when unknown

    @abstractmethod
    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        """Return the train, val and test splits, building and caching under `cache_dir`.

        `cache_dir` belongs to this dataset version alone (it may not exist yet). When what
        `build` returns fails to load or to match the manifest, the harness empties it and
        calls `build` once more, so a broken cache heals itself. Draw randomness from your
        own seeded generators, never from global state.
        """

    def field(self, name: str) -> Field:
        for declared in self.fields:
            if declared.name == name:
                return declared
        raise KeyError(f"dataset '{self.name}' has no field '{name}'")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(declared.name for declared in self.fields)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info(self.native_size).class_names

    def info(self, image_size: int) -> DataInfo:
        """The metadata at a run's image size; pixel spacing scales with the resize."""
        spacing = None
        if self.pixel_spacing_mm is not None:
            spacing = self.pixel_spacing_mm * self.native_size / image_size
        return DataInfo(image_size, {f.name: f for f in self.fields}, spacing,
                        self.normal_class)

    def card(self) -> str:
        """The dataset card (Markdown) shipped beside the dataset's module."""
        return self._resource("CARD.md").read_text(encoding="utf-8")

    def manifest(self) -> dict[str, SplitManifest]:
        """The committed manifest that pins each split's size and content hashes."""
        raw = json.loads(self._resource("manifest.json").read_text(encoding="utf-8"))
        if raw.get("version") != self.version:
            raise ValueError(f"{self.name}: manifest is for version {raw.get('version')}")
        return {name: SplitManifest(**entry) for name, entry in raw["splits"].items()}

    def _resource(self, filename: str) -> Traversable:
        return resources.files(type(self).__module__.rpartition(".")[0]).joinpath(filename)
