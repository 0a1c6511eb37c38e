"""Vessel map / fundus photograph pairs as a medbench dataset: one eye per sample."""

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
from medbench.datasets.retina.fundus import render_fundus
from medbench.datasets.retina.vessels import grow_tree, rasterise

# Changing anything below, the tree grower or the renderer changes the content: bump VERSION
# and regenerate manifest.json with `medbench datasets manifest retina`.
VERSION = "1.0.0"
ROOT_SEED = 20261201
NATIVE_SIZE = 64
CHUNK = 50
SPLIT_SIZES = {"train": 2000, "val": 250, "test": 500}


def build_split(split: str) -> SplitArrays:
    return render_split(render_chunk, ROOT_SEED, split, SPLIT_SIZES[split], CHUNK)


def render_chunk(rows: range, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    tree_rng, photo_rng = (np.random.default_rng(s) for s in seed.spawn(2))
    vessels, fundus = [], []
    for _ in rows:
        tree = grow_tree(tree_rng)
        coverage = rasterise(tree, NATIVE_SIZE)
        vessels.append(np.round(coverage * 255).astype(np.uint8))
        fundus.append(render_fundus(tree, coverage, photo_rng))
    return {"vessels": np.stack(vessels), "fundus": np.stack(fundus)}


class Retina(DatasetSpec):
    name: ClassVar[str] = "retina"
    version: ClassVar[str] = VERSION
    summary: ClassVar[str] = (
        "Procedural retinal vessel trees (arteries and veins) and the colour fundus "
        "photographs rendered from them (digital phantom, not patient data)"
    )
    modality: ClassVar[str] = "colour fundus photography (simulated)"
    native_size: ClassVar[int] = NATIVE_SIZE
    fields: ClassVar[tuple[Field, ...]] = (
        Field("vessels", "image", "uint8", channels=2, units="share of the pixel covered",
              description="channel 0: arteries, channel 1: veins; a pixel is vessel when "
                          "the two channels sum to at least half"),
        Field("fundus", "image", "uint8", channels=3, units="8-bit RGB",
              description="the colour fundus photograph of the same eye"),
    )

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return cached_splits(cache_dir, build_split)
