"""A colour fundus photograph rendered from a vessel tree.

Layers, back to front: the orange-red choroidal background with low-frequency texture and
the camera's illumination falloff; the macula (darker, with a darker fovea); the bright
optic disc with its paler cup; the vessels, arteries lighter and redder than veins, most
contrasted in the green channel as in real photographs; sensor noise; and the black
surround outside the circular aperture. Colours follow scikit-image's `retina` sample.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from medbench.datasets.components.vessels import ARTERY, FOV_RADIUS, VEIN, Tree

BACKGROUND_RGB = np.array([0.88, 0.32, 0.14])
DISC_RGB = np.array([0.98, 0.85, 0.55])
# Multiplicative transmission of the blood column (R, G, B) per vessel kind.
VESSEL_RGB = {ARTERY: np.array([0.85, 0.55, 0.60]), VEIN: np.array([0.68, 0.38, 0.45])}


def render_fundus(tree: Tree, vessels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(3, H, W) uint8 RGB fundus image; `vessels` is rasterise(tree, H)."""
    return photograph(fundus_light(tree, vessels, rng), rng)


def coordinates(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of each pixel centre in the normalised frame, [-1, 1] across the image."""
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(axis, axis, indexing="ij")
    return y, x


def fundus_light(tree: Tree, vessels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(3, H, W) float: the light reaching the sensor, before noise and the aperture; where
    findings (retina-lesions) are painted."""
    size = vessels.shape[-1]
    y, x = coordinates(size)

    tint = BACKGROUND_RGB * rng.uniform(0.85, 1.15, size=3)  # pigmentation differs by eye
    texture = gaussian_filter(rng.standard_normal((size, size)), size / 16)
    texture /= max(float(texture.std()), 1e-9)
    centre = rng.uniform(-0.15, 0.15, size=2)
    falloff = 1.0 - rng.uniform(0.35, 0.55) * ((x - centre[0]) ** 2 + (y - centre[1]) ** 2)
    image = tint[:, None, None] * (falloff * (1 + 0.06 * texture))[None]

    mx, my = tree.macula
    macula = np.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * 0.16**2))
    fovea = np.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * 0.04**2))
    image *= (1 - 0.35 * macula - 0.15 * fovea)[None]

    dx, dy = tree.disc
    disc_radius = rng.uniform(0.10, 0.13)
    disc_distance = np.sqrt((x - dx) ** 2 + (y - dy) ** 2)
    disc = 1.0 / (1.0 + np.exp(np.clip((disc_distance - disc_radius) / 0.012, -30, 30)))
    cup = np.exp(-(disc_distance**2) / (2 * (disc_radius * 0.45) ** 2))
    disc_colour = DISC_RGB[:, None, None] * (0.85 + 0.15 * cup)[None]
    image = image * (1 - disc[None]) + disc_colour * disc[None]

    for kind in (ARTERY, VEIN):
        coverage = vessels[kind][None]
        image = image * (1 - coverage) + image * VESSEL_RGB[kind][:, None, None] * coverage
    return image


def photograph(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise, the circular aperture, 8-bit quantisation."""
    y, x = coordinates(image.shape[-1])
    radius2 = x**2 + y**2
    image = image + rng.uniform(0.01, 0.025) * rng.standard_normal(image.shape)
    aperture = 1.0 / (1.0 + np.exp(np.clip((np.sqrt(radius2) - FOV_RADIUS) / 0.015, -30, 30)))
    image = image * aperture[None]
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
