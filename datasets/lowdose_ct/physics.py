"""Low-dose CT simulated where the dose acts: on the photon counts of each projection ray.

The noise-free object (Hounsfield units) becomes linear attenuation, is forward-projected
(parallel beam, scikit-image's Radon transform), and each ray's transmitted photon count is
drawn from a Poisson law at a given incident count per ray. The measured line integrals are
reconstructed with filtered back-projection (ramp filter). Fewer photons give the streaky,
non-stationary noise of real low-dose scans, not Gaussian noise added in the image.
"""

from __future__ import annotations

import numpy as np
from skimage.transform import iradon, radon

MU_WATER_PER_MM = 0.0192  # linear attenuation of water at about 70 keV
PIXEL_MM = 6.25  # the phantom's 64 pixels span a 400 mm field of view
VIEWS = 120  # projection angles over 180 degrees
FULL_DOSE_PHOTONS = 1.0e6  # incident photons per ray at full dose
LOW_DOSE_PHOTONS = 5.0e4  # 5 % of full dose


def angles() -> np.ndarray:
    return np.linspace(0.0, 180.0, VIEWS, endpoint=False)


def line_integrals(hu: np.ndarray, pixel_mm: float = PIXEL_MM) -> np.ndarray:
    """Noise-free projections (dimensionless attenuation line integrals) of one slice."""
    mu = MU_WATER_PER_MM * (1.0 + hu.astype(np.float64) / 1000.0)
    return radon(mu, angles(), circle=False) * pixel_mm


def measure(integrals: np.ndarray, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Line integrals estimated from Poisson photon counts at `photons` per ray.

    A ray that no photon crosses reads as one photon: the log of zero is undefined, and
    scanners clamp such readings the same way.
    """
    counts = rng.poisson(photons * np.exp(-integrals))
    return -np.log(np.maximum(counts, 1) / photons)


def reconstruct(integrals: np.ndarray, size: int, pixel_mm: float = PIXEL_MM) -> np.ndarray:
    """Filtered back-projection (ramp filter) back to Hounsfield units."""
    mu = iradon(integrals / pixel_mm, angles(), circle=False, output_size=size,
                filter_name="ramp")
    return 1000.0 * (mu / MU_WATER_PER_MM - 1.0)
