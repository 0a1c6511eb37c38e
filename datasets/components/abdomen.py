"""Vectorised renderer of CT-like axial abdominal slices at the level of the liver.

Every shape is an analytic signed distance, so a whole batch of slices is rendered with
array arithmetic and no per-image Python loop. Edges are anti-aliased with a logistic ramp
of the signed distance, which stands in for the partial-volume effect of a real scanner.
Intensities are in Hounsfield units until the final abdominal window.

Image convention: radiological. Row 0 is anterior, the patient's right is on the image's
left, so the liver sits on the left of the picture and the spine at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

# Class indices of the `label` field.
NORMAL, CYST, METASTASIS, HEMANGIOMA = 0, 1, 2, 3
CLASS_NAMES = ("normal", "cyst", "metastasis", "hemangioma")

# Values of the `mask` label map.
MASK_BACKGROUND, MASK_SOFT_TISSUE, MASK_MUSCLE, MASK_BONE, MASK_LIVER, MASK_LESION = range(6)
MASK_NAMES = ("background", "soft_tissue", "muscle", "bone", "liver", "lesion")

# Abdominal soft-tissue window (level 50 HU, width 400 HU).
WINDOW_LEVEL, WINDOW_WIDTH = 50.0, 400.0


@dataclass(frozen=True)
class RenderedBatch:
    image: np.ndarray  # (B, H, W) uint8, windowed CT
    mask: np.ndarray  # (B, H, W) uint8 label map, values from MASK_NAMES
    label: np.ndarray  # (B,) int64 class index, values from CLASS_NAMES
    hu: np.ndarray  # (B, H, W) Hounsfield units before quantum noise, in `render`'s dtype
    # (B, H, W) uint8: the same slice without its lesion (same anatomy, same noise), when
    # `render(..., healthy=True)`; else None.
    healthy: np.ndarray | None = None


def _coords(size: int, dtype: type[np.floating]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates on [-1, 1], shaped (1, H, W) for broadcasting."""
    axis = (np.arange(size, dtype=dtype) + 0.5) / size * 2.0 - 1.0
    y, x = np.meshgrid(axis, axis, indexing="ij")
    return x[None], y[None]


def _col(values: np.ndarray, dtype: np.dtype | type[np.floating]) -> np.ndarray:
    """Per-image parameters shaped (B, 1, 1) to broadcast against (B, H, W) grids."""
    return values.astype(dtype)[:, None, None]


def _soft(signed_distance: np.ndarray, edge: float) -> np.ndarray:
    """Fraction of a pixel inside a shape whose signed distance (negative inside) is given."""
    return 1.0 / (1.0 + np.exp(np.clip(signed_distance / edge, -30.0, 30.0)))


def _blob_distance(
    x: np.ndarray,
    y: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    angle: np.ndarray,
    wobble: np.ndarray | None = None,
) -> np.ndarray:
    """Approximate signed distance to a rotated ellipse whose radius wobbles with angle.

    `wobble` is (B, K, 2): amplitude and phase of harmonics 2..K+1 of the radius, which
    gives lobulated or irregular outlines from a handful of numbers per image.
    """
    def col(values: np.ndarray) -> np.ndarray:
        return _col(values, x.dtype)

    dx, dy = x - col(cx), y - col(cy)
    cos, sin = np.cos(col(angle)), np.sin(col(angle))
    u, v = (dx * cos + dy * sin) / col(ax), (-dx * sin + dy * cos) / col(ay)
    radius = np.sqrt(u * u + v * v)
    outline = np.ones_like(radius)
    if wobble is not None:
        # cos(k*theta + phase) by the angle-addition recurrence: no arctan2 or cos per pixel.
        c1, s1 = u / (radius + 1e-6), v / (radius + 1e-6)
        ck, sk = c1 * c1 - s1 * s1, 2 * c1 * s1
        for k in range(wobble.shape[1]):
            amp, phase = wobble[:, k, 0], wobble[:, k, 1]
            outline += col(amp * np.cos(phase)) * ck - col(amp * np.sin(phase)) * sk
            ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
    # Scale the normalised distance back to units of the short semi-axis.
    return (radius - outline) * col(np.minimum(ax, ay))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float,
                  dtype: type[np.floating]) -> np.ndarray:
    """Spatially correlated unit-variance noise, one independent field per image."""
    field = gaussian_filter(rng.standard_normal(shape).astype(dtype), sigma=(0, sigma, sigma))
    return field / (field.std(axis=(1, 2), keepdims=True) + 1e-6)


def _wobble(rng: np.random.Generator, n: int, harmonics: int, scale: float,
            dtype: type[np.floating]) -> np.ndarray:
    amp = rng.uniform(0.0, scale, size=(n, harmonics)) / np.arange(1, harmonics + 1)
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, harmonics))
    return np.stack([amp, phase], axis=-1).astype(dtype)


def render(labels: np.ndarray, size: int, rng: np.random.Generator,
           dtype: type[np.floating] = np.float32, healthy: bool = False) -> RenderedBatch:
    """Render one slice per entry of `labels`, drawing all anatomy from `rng`.

    `healthy` also renders each slice without its lesion: the same draws, the same noise,
    only the lesion's intensities left out (the lesion-synthesis task's training pairs).
    It draws nothing more from `rng`, so the other arrays are the same bytes either way.

    float32 is the phantom's own precision (its bytes are pinned). Its SIMD transcendentals
    differ by an ulp or two between CPUs, which the phantom's 8-bit window absorbs; a dataset
    that keeps Hounsfield units to the unit renders in float64 (`lowdose-ct` does).
    """
    n = len(labels)
    x, y = _coords(size, dtype)

    def col(values: np.ndarray) -> np.ndarray:
        return _col(values, dtype)

    px = 2.0 / size  # one pixel in normalised units
    edge = 0.35 * px
    u = rng.uniform

    # --- body outline, subcutaneous fat and the muscular wall ---------------------------
    body_ax, body_ay = u(0.80, 0.93, n), u(0.60, 0.72, n)
    body_cy = u(0.0, 0.08, n)
    body_wobble = _wobble(rng, n, 3, 0.04, dtype)
    zeros = np.zeros(n, dtype)
    body_d = _blob_distance(x, y, zeros, body_cy, body_ax, body_ay, zeros, body_wobble)
    fat_depth = u(0.05, 0.12, n)
    wall_d = _blob_distance(
        x, y, zeros, body_cy, body_ax - fat_depth, body_ay - fat_depth, zeros, body_wobble
    )
    cavity_d = _blob_distance(
        x, y, zeros, body_cy, body_ax - fat_depth - 0.05, body_ay - fat_depth - 0.05, zeros,
        body_wobble,
    )
    body = _soft(body_d, edge)
    inside_wall = _soft(wall_d, edge)
    cavity = _soft(cavity_d, edge)

    # --- spine, paraspinal muscles, aorta, IVC -----------------------------------------
    spine_cy = body_cy + body_ay - u(0.30, 0.36, n)
    vert_r = u(0.10, 0.13, n)
    vert_d = _blob_distance(x, y, zeros, spine_cy, vert_r, vert_r * 0.9, zeros)
    cortex = _soft(vert_d, edge) - _soft(vert_d + 0.025, edge)
    marrow = _soft(vert_d + 0.025, edge)
    canal_d = _blob_distance(x, y, zeros, spine_cy + vert_r + 0.06, zeros + 0.045, zeros + 0.04,
                             zeros)
    canal = _soft(canal_d, edge)
    para = np.zeros_like(body)
    for side in (-1.0, 1.0):
        para_d = _blob_distance(x, y, side * u(0.17, 0.21, n), spine_cy + 0.10, u(0.10, 0.13, n),
                                u(0.09, 0.12, n), side * u(0.2, 0.5, n))
        para = np.maximum(para, _soft(para_d, edge))
    aorta_r = u(0.055, 0.07, n)
    aorta = _soft(_blob_distance(x, y, u(0.05, 0.10, n), spine_cy - vert_r - aorta_r - 0.02,
                                 aorta_r, aorta_r, zeros), edge)
    ivc = _soft(_blob_distance(x, y, -u(0.10, 0.16, n), spine_cy - vert_r - 0.08,
                               u(0.05, 0.07, n), u(0.035, 0.05, n), u(-0.3, 0.3, n)), edge)

    # --- liver, spleen, stomach, bowel ------------------------------------------------
    liver_cx, liver_cy = -u(0.28, 0.38, n), body_cy - u(0.0, 0.08, n)
    liver_ax, liver_ay = u(0.38, 0.48, n), u(0.36, 0.46, n)
    liver_angle, liver_wobble = u(-0.4, 0.2, n), _wobble(rng, n, 4, 0.10, dtype)
    liver_d = _blob_distance(x, y, liver_cx, liver_cy, liver_ax, liver_ay, liver_angle,
                             liver_wobble)
    liver = _soft(liver_d, edge) * cavity
    spleen = _soft(_blob_distance(x, y, u(0.50, 0.60, n), spine_cy - u(0.05, 0.15, n),
                                  u(0.12, 0.18, n), u(0.07, 0.11, n), u(0.5, 1.0, n),
                                  _wobble(rng, n, 2, 0.08, dtype)), edge) * cavity
    stomach_d = _blob_distance(x, y, u(0.25, 0.40, n), body_cy - u(0.15, 0.30, n),
                               u(0.14, 0.22, n), u(0.10, 0.16, n), u(-0.5, 0.5, n),
                               _wobble(rng, n, 3, 0.08, dtype))
    stomach = _soft(stomach_d, edge) * cavity * (1 - liver)
    # The gas cap floats anteriorly: the upper part of the stomach, cut by a level line.
    gas_level = col(body_cy - u(0.22, 0.40, n))
    gas = stomach * _soft((y - gas_level) * 1.0, edge) * col(rng.random(n) < 0.6)
    bowel = (_smooth_noise(rng, (n, size, size), 2.0 * size / 64, dtype) > 0.6).astype(dtype)

    # --- lesions, confined to the liver ------------------------------------------------
    lesion = np.zeros_like(body)
    lesion_hu = np.zeros_like(body)
    texture = _smooth_noise(rng, (n, size, size), 1.0 * size / 64, dtype)
    n_slots = 2
    for slot in range(n_slots):
        # Metastases may be multiple; other lesions come alone.
        present = labels != NORMAL if slot == 0 else (labels == METASTASIS) & (rng.random(n) < 0.4)
        # Centre drawn in the liver's own frame, well inside its outline.
        r, t = np.sqrt(u(0.0, 1.0, n)) * 0.45, u(0, 2 * np.pi, n)
        lx = liver_cx + r * liver_ax * np.cos(t)
        ly = liver_cy + r * liver_ay * np.sin(t)
        radius = np.select(
            [labels == CYST, labels == METASTASIS, labels == HEMANGIOMA],
            [u(3.0, 7.0, n), u(3.5, 8.0, n), u(4.5, 9.0, n)], 4.0,
        ).astype(dtype) * px * (1.0 if slot == 0 else 0.7)
        irregular = np.where((labels == METASTASIS)[:, None, None],
                             _wobble(rng, n, 5, 0.35, dtype), _wobble(rng, n, 5, 0.04, dtype))
        lobulated = np.where((labels == HEMANGIOMA)[:, None, None],
                             _wobble(rng, n, 3, 0.30, dtype), 0.0).astype(dtype)
        wobble = irregular
        wobble[:, :3, 0] += lobulated[:, :, 0]
        d = _blob_distance(x, y, lx, ly, radius, radius * u(0.8, 1.0, n), u(0, np.pi, n), wobble)
        sharp = np.where(labels == CYST, 0.25 * px, 0.7 * px).astype(dtype)
        inside = _soft(d, col(sharp)) * liver * col(present)
        rel = d / col(radius)  # -1 at the centre, 0 on the outline
        # Cyst: water-like and homogeneous.
        cyst_hu = dtype(8.0) + 3.0 * texture
        # Metastasis: hypodense heterogeneous core, necrotic centre, enhancing rim.
        rim = np.exp(-((rel + 0.12) / 0.12) ** 2)
        meta_hu = 45.0 + 14.0 * texture - 25.0 * np.clip(-rel - 0.5, 0, None) * 2 + 75.0 * rim
        # Hemangioma: hypodense with discontinuous nodular enhancement at the periphery.
        angle = np.arctan2(y - col(ly), x - col(lx))
        nodules = np.clip(np.cos(col(u(3, 6, n).round()) * angle + col(u(0, 6.3, n))), 0, None)
        periphery = np.exp(-((rel + 0.2) / 0.14) ** 2)
        heman_hu = 50.0 + 6.0 * texture + 120.0 * nodules**4 * periphery
        hu = np.select(
            [col(labels == CYST) > 0, col(labels == METASTASIS) > 0], [cyst_hu, meta_hu],
            heman_hu,
        )
        lesion_hu = lesion_hu * (1 - inside) + hu * inside
        lesion = np.maximum(lesion, inside)

    # --- compose Hounsfield units, back to front ---------------------------------------
    hu = np.full_like(body, -1000.0)
    hu = hu * (1 - body) + (-105.0 + 10.0 * texture) * body  # subcutaneous fat
    hu = hu * (1 - inside_wall) + 55.0 * inside_wall  # muscular wall
    visceral = np.where(bowel > 0, 25.0 + 10 * texture, -90.0 + 8 * texture)
    hu = hu * (1 - cavity) + visceral * cavity
    for organ, value in ((para, 55.0), (spleen, 105.0), (aorta, 165.0), (ivc, 120.0)):
        hu = hu * (1 - organ) + value * organ
    hu = hu * (1 - stomach) + (15.0 + 5 * texture) * stomach
    hu = hu * (1 - gas) + (-950.0) * gas
    vessels = (np.abs(_smooth_noise(rng, (n, size, size), 1.5 * size / 64, dtype)) < 0.08)
    liver_hu = col(u(90.0, 110.0, n)) + 6.0 * texture + 45.0 * vessels
    hu = hu * (1 - liver) + liver_hu * liver
    without_lesion = hu
    hu = hu * (1 - lesion) + lesion_hu * lesion

    def bones(hu: np.ndarray) -> np.ndarray:
        hu = hu * (1 - marrow) + 190.0 * marrow
        hu = hu * (1 - cortex) + 750.0 * cortex
        return hu * (1 - canal) + 15.0 * canal

    hu = bones(hu)
    clean_hu = hu.astype(dtype)
    # Quantum noise: correlated, with a dose that varies from slice to slice.
    noise_sigma = col(u(8.0, 20.0, n))
    noise = noise_sigma * _smooth_noise(rng, (n, size, size), 0.6 * size / 64, dtype) * body
    image_u8 = _windowed(hu + noise)
    healthy_u8 = _windowed(bones(without_lesion) + noise) if healthy else None

    mask = np.zeros(body.shape, dtype=np.uint8)
    mask[body > 0.5] = MASK_SOFT_TISSUE
    mask[((inside_wall > 0.5) & (cavity < 0.5)) | (para > 0.5)] = MASK_MUSCLE
    mask[(cortex + marrow) > 0.5] = MASK_BONE
    mask[liver > 0.5] = MASK_LIVER
    mask[lesion > 0.5] = MASK_LESION
    return RenderedBatch(image=image_u8, mask=mask, label=labels.astype(np.int64),
                         hu=clean_hu, healthy=healthy_u8)


def _windowed(hu: np.ndarray) -> np.ndarray:
    """Hounsfield units -> the abdominal window as 8-bit gray levels."""
    window_low = WINDOW_LEVEL - WINDOW_WIDTH / 2
    image = np.clip((hu - window_low) / WINDOW_WIDTH, 0.0, 1.0)
    return np.round(image * 255.0).astype(np.uint8)
