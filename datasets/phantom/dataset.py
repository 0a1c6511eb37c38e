"""The phantom as a medbench dataset: fixed seeds, fixed split sizes, cached arrays."""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api.dataset import SPLITS, DatasetSpec, SplitArrays
from medbench.datasets.phantom.anatomy import CLASS_NAMES, RenderedBatch, render

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
    return SplitArrays(
        np.concatenate([batch.image for batch in batches]),
        labels,
        np.concatenate([batch.mask for batch in batches]),
    )


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
    class_names: ClassVar[tuple[str, ...]] = CLASS_NAMES
    fields: ClassVar[tuple[str, ...]] = ("image", "label", "mask")

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        folder = cache_dir / f"{self.name}-{self.version}"
        return {split: self._cached_split(folder, split) for split in SPLITS}

    def _cached_split(self, folder: Path, split: str) -> SplitArrays:
        path = folder / f"{split}.npz"
        if path.exists():
            with np.load(path) as stored:
                return SplitArrays(stored["images"], stored["labels"], stored["masks"])
        arrays = build_split(split)
        folder.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a truncated cache behind.
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
        with os.fdopen(handle, "wb") as out:
            np.savez(out, images=arrays.images, labels=arrays.labels, masks=arrays.masks)
        os.replace(tmp, path)
        return arrays
