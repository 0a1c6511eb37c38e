"""Fundus photographs with and without findings, for abnormality detection: one eye per
sample, rendered by the retina phantom, half of them with haemorrhages or exudates."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api import DatasetSpec, Field, SplitArrays, cached_splits, render_split
from medbench.datasets.retina.fundus import fundus_light, photograph
from medbench.datasets.retina.vessels import grow_tree, rasterise
from medbench.datasets.retina_lesions.findings import FINDINGS, paint

# Changing anything below, the findings, or the retina renderer changes the content: bump
# VERSION and regenerate manifest.json with `medbench datasets manifest retina-lesions`.
VERSION = "1.0.0"
ROOT_SEED = 20261202
NATIVE_SIZE = 64
CHUNK = 50
SPLIT_SIZES = {"train": 2000, "val": 250, "test": 500}
CLASS_NAMES = ("normal", *FINDINGS)
ABNORMAL_SHARE = 0.5  # of each chunk; the findings alternate (13 and 12 of 25)


def build_split(split: str) -> SplitArrays:
    return render_split(render_chunk, ROOT_SEED, split, SPLIT_SIZES[split], CHUNK)


def chunk_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """Exact shares per chunk (normal first, then each finding), shuffled."""
    abnormal = int(round(n * ABNORMAL_SHARE))
    labels = np.zeros(n, np.int64)
    labels[n - abnormal :] = 1 + np.arange(abnormal) % len(FINDINGS)
    return rng.permutation(labels)


def render_chunk(rows: range, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    tree_rng, photo_rng, finding_rng = (np.random.default_rng(s) for s in seed.spawn(3))
    labels = chunk_labels(len(rows), finding_rng)
    images, masks = [], []
    for label in labels:
        tree = grow_tree(tree_rng)
        light = fundus_light(tree, rasterise(tree, NATIVE_SIZE), photo_rng)
        lesion = np.zeros(light.shape[1:], bool)
        if label:
            light, lesion = paint(light, tree, CLASS_NAMES[label], finding_rng)
        images.append(photograph(light, photo_rng))
        masks.append(lesion.astype(np.uint8))
    return {"image": np.stack(images), "label": labels, "mask": np.stack(masks)}


class RetinaLesions(DatasetSpec):
    name: ClassVar[str] = "retina-lesions"
    version: ClassVar[str] = VERSION
    summary: ClassVar[str] = (
        "Fundus photographs of the retina phantom, half with haemorrhages or hard exudates, "
        "with lesion masks (digital phantom, not patient data)")
    modality: ClassVar[str] = "colour fundus photography (simulated)"
    native_size: ClassVar[int] = NATIVE_SIZE
    fields: ClassVar[tuple[Field, ...]] = (
        Field("image", "image", "uint8", channels=3, units="8-bit RGB",
              description="the colour fundus photograph"),
        Field("label", "label", "int64", value_names=CLASS_NAMES,
              description="the eye's finding"),
        Field("mask", "mask", "uint8", value_names=("background", "lesion"),
              description="pixels at least half covered by the finding"),
    )
    normal_class: ClassVar[str | None] = "normal"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return cached_splits(cache_dir, build_split)
