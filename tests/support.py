"""Test data and helpers shared by the test modules (importable: pytest puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from medbench.api import SPLITS, DatasetSpec, Field, SplitArrays, SplitManifest, hookimpl
from medbench.datasets.phantom.anatomy import render
from medbench.datasets.phantom.dataset import AbdominalPhantom

TINY_SIZES = {"train": 64, "val": 48, "test": 48}


class TinyPhantom(DatasetSpec):
    """A few phantom slices, so that a whole run takes seconds in tests."""

    name: ClassVar[str] = "tiny-phantom"
    version: ClassVar[str] = "test"
    summary: ClassVar[str] = "a handful of phantom slices for tests"
    modality: ClassVar[str] = "CT (simulated)"
    native_size: ClassVar[int] = 32
    fields: ClassVar[tuple[Field, ...]] = AbdominalPhantom.fields
    normal_class: ClassVar[str | None] = "normal"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        out = {}
        for index, split in enumerate(SPLITS):
            labels = np.arange(TINY_SIZES[split]) % len(self.class_names)
            batch = render(labels, 32, np.random.default_rng(100 + index))
            out[split] = SplitArrays({"image": batch.image, "label": batch.label,
                                      "mask": batch.mask})
        return out

    def manifest(self) -> dict[str, SplitManifest]:
        return computed_manifest(self)

    def card(self) -> str:
        return "# tiny-phantom\nTest data."


def computed_manifest(dataset: DatasetSpec) -> dict[str, SplitManifest]:
    """For test datasets: the manifest of what `build` returns, so a run's checks pass."""
    built = dataset.build(Path("unused"))
    return {split: SplitManifest(len(a), a.sha256(dataset.field_names),
                                 {name: a.field_sha256(name) for name in dataset.field_names})
            for split, a in built.items()}


class TinyDatasetPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(TinyPhantom())


def random_fid_inception_weights(path: Path) -> None:
    """A random-weight checkpoint with the exact layout of pytorch-fid's FID weights, so
    the real FID code path runs offline."""
    from medbench.metrics.features.inception import fid_inception_skeleton

    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(fid_inception_skeleton().state_dict(), path)
