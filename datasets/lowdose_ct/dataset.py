"""Low-dose / full-dose CT pairs of the abdominal phantom, simulated in the projection domain."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api import (
    DatasetSpec,
    Field,
    SplitArrays,
    cached_splits,
    render_split,
)
from medbench.datasets.lowdose_ct.physics import (
    FULL_DOSE_PHOTONS,
    LOW_DOSE_PHOTONS,
    PIXEL_MM,
    line_integrals,
    measure,
    reconstruct,
)
from medbench.datasets.phantom.anatomy import CLASS_NAMES, MASK_NAMES, render

# Changing anything below, the physics or the phantom's renderer changes the content: bump
# VERSION and regenerate manifest.json with `medbench datasets manifest lowdose-ct`.
VERSION = "1.0.0"
ROOT_SEED = 20261131
NATIVE_SIZE = 64
CHUNK = 50
SPLIT_SIZES = {"train": 2000, "val": 250, "test": 500}
HU_RANGE = (-1024.0, 3000.0)
LESION_SHARE = 0.6  # slices with a liver lesion (cyst, metastasis, hemangioma alike)


def build_split(split: str) -> SplitArrays:
    return render_split(render_chunk, ROOT_SEED, split, SPLIT_SIZES[split], CHUNK)


def render_chunk(rows: range, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    label_rng, anatomy_rng, full_rng, low_rng = (np.random.default_rng(s) for s in seed.spawn(4))
    lesion = label_rng.random(len(rows)) < LESION_SHARE
    labels = np.where(lesion, label_rng.integers(1, len(CLASS_NAMES), len(rows)), 0)
    batch = render(labels, NATIVE_SIZE, anatomy_rng)
    low, full = [], []
    for hu in batch.hu:
        integrals = line_integrals(hu)
        full.append(_stored(reconstruct(measure(integrals, FULL_DOSE_PHOTONS, full_rng),
                                        NATIVE_SIZE)))
        low.append(_stored(reconstruct(measure(integrals, LOW_DOSE_PHOTONS, low_rng),
                                       NATIVE_SIZE)))
    return {"low_dose": np.stack(low), "full_dose": np.stack(full), "mask": batch.mask}


def _stored(hu: np.ndarray) -> np.ndarray:
    return np.clip(np.round(hu), *HU_RANGE).astype(np.int16)


class LowDoseCT(DatasetSpec):
    name: ClassVar[str] = "lowdose-ct"
    version: ClassVar[str] = VERSION
    summary: ClassVar[str] = (
        "Abdominal phantom slices reconstructed by FBP from Poisson-noisy projections at 5 % "
        "and 100 % dose (digital phantom, not patient data)"
    )
    modality: ClassVar[str] = "CT (simulated, low and full dose)"
    native_size: ClassVar[int] = NATIVE_SIZE
    pixel_spacing_mm: ClassVar[float | None] = PIXEL_MM
    fields: ClassVar[tuple[Field, ...]] = (
        Field("low_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(50.0, 400.0),
              description=f"FBP of projections at {LOW_DOSE_PHOTONS:.0e} photons per ray"),
        Field("full_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(50.0, 400.0),
              description=f"FBP of projections at {FULL_DOSE_PHOTONS:.0e} photons per ray"),
        Field("mask", "mask", "uint8", value_names=MASK_NAMES,
              description="the phantom's tissue label map; 'lesion' marks a liver finding"),
    )

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return cached_splits(cache_dir, build_split)
