"""One subject's axial head slice as tissue fractions: the template's brain, deformed
smoothly per subject, wrapped in CSF, skull and scalp.

The nilearn template is skull-stripped: outside the brain its intensity is 0. Skull and scalp
are therefore shells grown outward from the template's brain outline by a distance transform,
with thicknesses that vary around the head and between subjects; whatever lies beyond them
is air. Fractions are rendered at twice the stored resolution and averaged down, which
stands in for the partial-volume effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import (
    binary_fill_holes,
    distance_transform_edt,
    gaussian_filter,
    map_coordinates,
)

from medbench.datasets.brain_mrct.template import Template

# Label map values of the `tissue` field, in the order of Anatomy.fractions.
TISSUES = ("air", "scalp", "skull", "csf", "grey_matter", "white_matter")
AIR, SCALP, SKULL, CSF, GREY_MATTER, WHITE_MATTER = range(len(TISSUES))

SLICE_RANGE = (50, 120)  # template z indices (1 mm) of the slices drawn: ventricles to vertex
CENTRE = (98.0, 117.0)  # template (x, y) of the field of view's centre
EDGE_MM = 0.7  # width of the logistic ramp at each shell boundary


@dataclass(frozen=True)
class Anatomy:
    """Tissue fractions (len(TISSUES), H, W) summing to 1, and the skull's depth profile."""

    fractions: np.ndarray
    bone_depth: np.ndarray  # (H, W) 0 at the skull's inner table, 1 at the outer; else 0.5


def subject_slice(template: Template, size: int, spacing_mm: float,
                  rng: np.random.Generator) -> Anatomy:
    """One subject: a random slice, pose and smooth deformation of the template."""
    fine = 2 * size  # rendered at twice the resolution, then averaged
    step = spacing_mm / 2
    axis = (np.arange(fine, dtype=np.float64) - (fine - 1) / 2) * step
    v, u = np.meshgrid(axis, axis, indexing="ij")  # v: rows (anterior up), u: columns

    angle = np.deg2rad(rng.uniform(-8.0, 8.0))
    scale = rng.uniform(0.92, 1.08, size=2)  # head size and shape differ between subjects
    shift = rng.uniform(-4.0, 4.0, size=2)
    cos, sin = np.cos(angle), np.sin(angle)
    x = (cos * u - sin * v) / scale[0] + shift[0]
    y = (sin * u + cos * v) / scale[1] + shift[1]
    # A smooth random displacement (about 2-3 mm) makes every subject's folds differ.
    for coordinate in (x, y):
        coordinate += _smooth_field(rng, fine, sigma_px=12.0 / step, amplitude_mm=2.5)
    tilt = rng.uniform(-0.05, 0.05, size=2)  # slices are not exactly axial
    z = rng.uniform(*SLICE_RANGE) + tilt[0] * x + tilt[1] * y
    coords = np.stack([CENTRE[0] + x, CENTRE[1] - y, z])  # template y grows anteriorly
    brain, gm, wm = (np.clip(map_coordinates(volume, coords, order=1, mode="constant"), 0, 1)
                     for volume in (template.brain, template.gm, template.wm))

    # Outside the brain: distance (mm) from its outline; shells by thickness. Holes in the
    # template's mask (around the brainstem in low slices) hold CSF, not skull.
    head = binary_fill_holes(brain >= 0.5)
    outside_mm = distance_transform_edt(~head) * step
    around = np.arctan2(v, u)
    csf_mm = rng.uniform(1.0, 2.5)
    skull_mm = rng.uniform(5.0, 7.5) + _wobble(rng, around, 1.2)
    scalp_mm = rng.uniform(4.0, 7.0) + _wobble(rng, around, 1.0)
    within_csf = _inside(outside_mm, csf_mm)
    within_skull = _inside(outside_mm, csf_mm + skull_mm)
    within_head = _inside(outside_mm, csf_mm + skull_mm + scalp_mm)

    matter = np.clip(gm + wm, 0, 1)
    scaled = np.where(matter > 0, brain / np.maximum(matter, 1e-6), 0)
    gm_f, wm_f = gm * np.minimum(scaled, 1), wm * np.minimum(scaled, 1)
    csf_inside = np.clip(brain - gm_f - wm_f, 0, 1)  # ventricles and sulci
    rest = (1 - brain) * ~head
    csf_inside = csf_inside + (1 - brain) * head
    fractions = np.stack([
        rest * (1 - within_head),
        rest * (within_head - within_skull),
        rest * (within_skull - within_csf),
        csf_inside + rest * within_csf,
        gm_f,
        wm_f,
    ]).clip(0, None)
    fractions /= fractions.sum(axis=0, keepdims=True)
    depth = np.clip((outside_mm - csf_mm) / skull_mm, 0, 1)
    return Anatomy(fractions=_halve(fractions), bone_depth=_halve(depth[None])[0])


def label_map(fractions: np.ndarray) -> np.ndarray:
    """The tissue with the largest fraction at each pixel, as uint8 values of TISSUES."""
    return fractions.argmax(axis=0).astype(np.uint8)


def _inside(distance_mm: np.ndarray, thickness_mm: np.ndarray | float) -> np.ndarray:
    """Fraction of a pixel within `thickness_mm` of the brain, with a soft boundary."""
    return 1.0 / (1.0 + np.exp(np.clip((distance_mm - thickness_mm) / EDGE_MM, -30, 30)))


def _smooth_field(rng: np.random.Generator, size: int, sigma_px: float,
                  amplitude_mm: float) -> np.ndarray:
    field = gaussian_filter(rng.standard_normal((size, size)), sigma_px, mode="wrap")
    return field * (amplitude_mm / max(float(field.std()), 1e-9))


def _wobble(rng: np.random.Generator, around: np.ndarray, amplitude_mm: float) -> np.ndarray:
    """A thickness that varies smoothly around the head (a few angular harmonics)."""
    wobble = np.zeros_like(around)
    for harmonic in (1, 2, 3):
        wobble += rng.uniform(-1, 1) * np.cos(harmonic * around + rng.uniform(0, 2 * np.pi))
    return wobble * amplitude_mm / 2


def _halve(images: np.ndarray) -> np.ndarray:
    """(K, 2H, 2W) -> (K, H, W) by averaging 2x2 blocks."""
    k, h, w = images.shape
    return images.reshape(k, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
