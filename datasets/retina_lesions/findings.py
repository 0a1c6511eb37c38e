"""Findings of diabetic retinopathy painted into a fundus photograph's light, before the
camera's noise: dot-and-blot haemorrhages and hard exudates.

Sizes are set so that a finding survives the 32 px of a smoke run: haemorrhages are blots
5-9 px across at 64 px, exudates clusters of dots 3-4.5 px across. Real microaneurysms
(under 125 µm) would be far below one pixel at this resolution, so they are left out.
"""

from __future__ import annotations

import numpy as np

from medbench.datasets.components.fundus import coordinates
from medbench.datasets.components.vessels import Tree

FINDINGS = ("haemorrhage", "exudates")
# Multiplicative transmission of a haemorrhage (dark red), and the colour of exudates
# (bright yellow lipid deposits).
HAEMORRHAGE_RGB = np.array([0.55, 0.22, 0.25])
EXUDATE_RGB = np.array([1.0, 0.88, 0.42])
LESION_AT = 0.5  # a pixel is lesion where a finding covers at least half of it
EDGE = 0.012  # width of a finding's soft edge, normalised units


def blob(y: np.ndarray, x: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
    """Coverage in [0, 1] of a disc with a soft edge (partial volume at its border)."""
    distance = np.sqrt((y - cy) ** 2 + (x - cx) ** 2)
    return 1.0 / (1.0 + np.exp(np.clip((distance - radius) / EDGE, -30, 30)))


def place(rng: np.random.Generator, tree: Tree, low: float, high: float) -> tuple[float, float]:
    """A point at `low`-`high` from the fovea, inside the field of view and off the disc."""
    for _ in range(100):
        angle, distance = rng.uniform(0, 2 * np.pi), rng.uniform(low, high)
        cx = tree.macula[0] + distance * np.cos(angle)
        cy = tree.macula[1] + distance * np.sin(angle)
        off_disc = np.hypot(cx - tree.disc[0], cy - tree.disc[1]) > 0.22
        if np.hypot(cx, cy) < 0.75 and off_disc:
            return cy, cx
    return tree.macula[1], tree.macula[0]


def paint(light: np.ndarray, tree: Tree, finding: str,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(light with the finding, lesion mask (H, W) bool)."""
    y, x = coordinates(light.shape[-1])
    coverage = np.zeros(light.shape[1:])
    if finding == "haemorrhage":
        for _ in range(rng.integers(1, 4)):
            cy, cx = place(rng, tree, 0.15, 0.65)
            coverage = np.maximum(coverage, blob(y, x, cy, cx, rng.uniform(0.08, 0.14)))
        light = light * (1 - coverage + coverage * HAEMORRHAGE_RGB[:, None, None])
    elif finding == "exudates":
        cy, cx = place(rng, tree, 0.2, 0.55)
        for _ in range(rng.integers(3, 9)):
            dy, dx = rng.normal(0, 0.1, size=2)
            coverage = np.maximum(coverage, blob(y, x, cy + dy, cx + dx,
                                                 rng.uniform(0.045, 0.07)))
        light = light * (1 - coverage) + EXUDATE_RGB[:, None, None] * coverage
    else:
        raise ValueError(f"unknown finding {finding!r}; known: {', '.join(FINDINGS)}")
    return light, coverage >= LESION_AT
