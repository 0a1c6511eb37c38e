"""What a dataset plugin provides: its fields, how to build it, its card and pinned manifest."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api.data import SPLITS, DataInfo, Field, SplitArrays
from medbench.api.storage import atomic_write


@dataclass(frozen=True)
class SplitManifest:
    """One split's pinned content: its size and hashes, whole and per field."""

    size: int
    sha256: str  # "" for a file-backed dataset: its files' checksums pin the content
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
    # Every record carries these, and a leaderboard of non-commercial data says so.
    licence: ClassVar[str] = "unspecified"  # e.g. "CC BY 4.0"; SPDX ids where one exists
    citation: ClassVar[str] = ""  # what a paper using the data must cite
    noncommercial: ClassVar[bool] = False  # the licence forbids commercial use
    # Generated data (a phantom), not images of patients: every leaderboard header says so.
    synthetic: ClassVar[bool] = False

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


def cached_split(folder: Path, split: str, build: Callable[[], SplitArrays]) -> SplitArrays:
    """`folder/split.npz` when it exists, else `build()` saved there (atomically).

    A cache file that fails to load, or loads but disagrees with the fields or the manifest,
    is the harness's to notice: it empties the folder and builds again.
    """
    path = folder / f"{split}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return SplitArrays({name: stored[name] for name in stored.files})
    arrays = build()
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as out:
        np.savez(out, **arrays.arrays)
    return arrays


def cached_splits(folder: Path,
                  build_split: Callable[[str], SplitArrays]) -> dict[str, SplitArrays]:
    """Every split through `cached_split`: what most `DatasetSpec.build` methods return."""
    return {split: cached_split(folder, split, lambda split=split: build_split(split))
            for split in SPLITS}


def cached_decode(folder: Path,
                  decode_all: Callable[[], dict[str, SplitArrays]]) -> dict[str, SplitArrays]:
    """`cached_splits` for datasets that read all splits in one pass over their files (a
    patient's slices may land in any split): `decode_all()` runs at most once, and only
    when some split is not cached yet."""
    decoded: dict[str, SplitArrays] = {}

    def split_arrays(split: str) -> SplitArrays:
        if not decoded:
            decoded.update(decode_all())
        return decoded[split]

    return cached_splits(folder, split_arrays)


def render_split(render: Callable[[range, np.random.SeedSequence], dict[str, np.ndarray]],
                 root_seed: int, split: str, size: int, chunk: int) -> SplitArrays:
    """A split rendered in chunks of `chunk` samples, each from its own seed, on every core.

    `render(rows, seed)` returns the chunk's arrays by field name. The seeds come from
    ``SeedSequence([root_seed, index of split])``, one child per chunk, so the split's bytes
    depend neither on the order nor on the thread that renders a chunk: the same on every
    machine. NumPy and SciPy release the GIL, so threads use every core.
    """
    seeds = np.random.SeedSequence([root_seed, SPLITS.index(split)]).spawn(-(-size // chunk))
    rows = [range(index * chunk, min(size, (index + 1) * chunk)) for index in range(len(seeds))]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        chunks = list(pool.map(render, rows, seeds))
    return SplitArrays({name: np.concatenate([part[name] for part in chunks])
                        for name in chunks[0]})
