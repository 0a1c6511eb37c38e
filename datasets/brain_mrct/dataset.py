"""Paired brain MR/CT slices as a medbench dataset: one subject per sample, cached arrays."""

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
from medbench.datasets.brain_mrct.anatomy import TISSUES, label_map, subject_slice
from medbench.datasets.brain_mrct.contrast import CT_RANGE, MR_RANGE, render_ct, render_mr
from medbench.datasets.brain_mrct.template import Template, load_template

# Changing anything below, the anatomy or the contrast models changes the content: bump
# VERSION and regenerate manifest.json with `medbench datasets manifest brain-mrct`.
VERSION = "1.0.0"
ROOT_SEED = 20261130
NATIVE_SIZE = 64
SPACING_MM = 3.5
CHUNK = 50  # subjects per seed; part of the definition
SPLIT_SIZES = {"train": 2000, "val": 250, "test": 500}


def build_split(split: str, template: Template) -> SplitArrays:
    return render_split(lambda rows, seed: render_chunk(template, len(rows), seed),
                        ROOT_SEED, split, SPLIT_SIZES[split], CHUNK)


def render_chunk(template: Template, n: int, seed: np.random.SeedSequence,
                  ) -> dict[str, np.ndarray]:
    anatomy_rng, mr_rng, ct_rng = (np.random.default_rng(s) for s in seed.spawn(3))
    mr, ct, tissue = [], [], []
    for _ in range(n):
        anatomy = subject_slice(template, NATIVE_SIZE, SPACING_MM, anatomy_rng)
        mr.append(render_mr(anatomy, mr_rng))
        ct.append(render_ct(anatomy, ct_rng))
        tissue.append(label_map(anatomy.fractions))
    return {"mr": np.stack(mr), "ct": np.stack(ct), "tissue": np.stack(tissue)}


class BrainMRCT(DatasetSpec):
    synthetic: ClassVar[bool] = True
    name: ClassVar[str] = "brain-mrct"
    version: ClassVar[str] = VERSION
    summary: ClassVar[str] = (
        "Paired T1 MR and CT head slices from the MNI152 template, deformed per subject "
        "(digital phantom built on real anatomy)"
    )
    modality: ClassVar[str] = "MR T1 + CT (simulated)"
    licence: ClassVar[str] = (
        "MIT for medbench's code; the MNI ICBM152 2009a template it is built from is "
        "(c) McConnell Brain Imaging Centre, free to use with its copyright notice")
    citation: ClassVar[str] = (
        "Fonov V, Evans AC, Botteron K, et al. Unbiased average age-appropriate atlases for "
        "pediatric studies. NeuroImage 54(1):313-327, 2011")
    native_size: ClassVar[int] = NATIVE_SIZE
    pixel_spacing_mm: ClassVar[float | None] = SPACING_MM
    fields: ClassVar[tuple[Field, ...]] = (
        Field("mr", "image", "uint16", value_range=MR_RANGE, units="a.u. (T1-weighted)",
              description="T1-weighted magnitude with a bias field and Rician noise"),
        Field("ct", "image", "int16", value_range=CT_RANGE, units="HU", window=(40.0, 400.0),
              description="CT of the same subject and slice, with quantum noise"),
        Field("tissue", "mask", "uint8", value_names=TISSUES,
              description="the tissue with the largest share of each pixel; not air = body"),
    )

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        template: list[Template] = []  # loaded once, and only when a split must be built

        def build(split: str) -> SplitArrays:
            if not template:
                template.append(load_template())
            return build_split(split, template[0])

        return cached_splits(cache_dir, build)
