"""The phantom as a medbench dataset: fixed seeds, fixed split sizes, cached arrays."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api import SPLITS, DatasetSpec, Field, SplitArrays, cached_splits
from medbench.datasets.phantom.anatomy import (
    CLASS_NAMES,
    MASK_NAMES,
    WINDOW_LEVEL,
    WINDOW_WIDTH,
    RenderedBatch,
    render,
)

# Changing anything below, or the renderer, changes the content: bump VERSION and
# regenerate manifest.json with `medbench datasets manifest phantom`.
VERSION = "1.0.0"
ROOT_SEED = 20261129
NATIVE_SIZE = 64
CHUNK = 250  # images rendered per call; part of the definition because each chunk has a seed
SPLIT_SIZES = {"train": 5000, "val": 1500, "test": 1500}
CLASS_FRACTIONS = {"normal": 0.4, "cyst": 0.2, "metastasis": 0.2, "hemangioma": 0.2}


def class_counts(size: int) -> dict[str, int]:
    counts = {name: int(round(size * fraction)) for name, fraction in CLASS_FRACTIONS.items()}
    counts["normal"] += size - sum(counts.values())
    return counts


def build_split(split: str) -> SplitArrays:
    """Render one split from its own seed; the same bytes on every machine."""
    split_seed = np.random.SeedSequence([ROOT_SEED, SPLITS.index(split)])
    label_rng, *chunk_seeds = split_seed.spawn(1 + -(-SPLIT_SIZES[split] // CHUNK))
    counts = class_counts(SPLIT_SIZES[split])
    labels = np.concatenate(
        [np.full(counts[name], CLASS_NAMES.index(name), np.int64) for name in CLASS_NAMES]
    )
    labels = np.random.default_rng(label_rng).permutation(labels)
    chunks = [labels[index * CHUNK : (index + 1) * CHUNK] for index in range(len(chunk_seeds))]
    # Chunks are independent (own seed each), so rendering them in parallel changes nothing.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        batches = list(pool.map(_render_chunk, chunks, chunk_seeds))
    return SplitArrays({
        "image": np.concatenate([batch.image for batch in batches]),
        "label": labels,
        "mask": np.concatenate([batch.mask for batch in batches]),
    })


def _render_chunk(labels: np.ndarray, seed: np.random.SeedSequence) -> RenderedBatch:
    return render(labels, NATIVE_SIZE, np.random.default_rng(seed))


class AbdominalPhantom(DatasetSpec):
    name: ClassVar[str] = "phantom"
    version: ClassVar[str] = VERSION
    summary: ClassVar[str] = (
        "Procedural CT-like abdominal slices: normal liver, cyst, metastasis, hemangioma "
        "(digital phantom, not patient data)"
    )
    modality: ClassVar[str] = "CT (simulated)"
    native_size: ClassVar[int] = NATIVE_SIZE
    fields: ClassVar[tuple[Field, ...]] = (
        Field("image", "image", "uint8",
              units=f"CT in an abdominal window (level {WINDOW_LEVEL:g} HU, width "
                    f"{WINDOW_WIDTH:g} HU) stored as 0-255",
              description="axial CT-like slice at the level of the liver"),
        Field("label", "label", "int64", value_names=CLASS_NAMES,
              description="the slice's liver finding"),
        Field("mask", "mask", "uint8", value_names=MASK_NAMES,
              description="tissue label map; 'lesion' marks the finding"),
    )
    normal_class: ClassVar[str | None] = "normal"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return cached_splits(cache_dir, build_split)
