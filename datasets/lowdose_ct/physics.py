"""Low-dose CT simulated where the dose acts: on the photon counts of each projection ray.

The noise-free object (Hounsfield units) becomes linear attenuation, is forward-projected
(parallel beam, scikit-image's Radon transform), and each ray's transmitted photon count is
drawn from the Poisson law (by its normal approximation) at a given incident count per ray.
The measured line integrals are reconstructed with filtered back-projection (ramp filter).
Fewer photons give the streaky, non-stationary noise of real low-dose scans, not Gaussian
noise added in the image.
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
    """Line integrals estimated from photon counts at `photons` per ray.

    Each ray's count is drawn from Normal(λ, λ), λ = photons · e^(−integral): the Poisson law
    by its normal approximation, which is why the bytes are the same on every CPU. numpy's
    Poisson sampler (for λ ≥ 10) is a rejection sampler whose accept/reject test depends on
    the last bits of λ, and those bits come from `exp`, whose SIMD implementation differs
    between CPUs (AVX2 against AVX512 builds of 1.0.0 differed). One flipped test shifts
    every later draw of the chunk. A normal draw uses one fixed variate per ray, so a one-ulp
    change of λ moves a count by about one ulp, far below the HU rounding of the result.
    The phantom's rays carry at least about 30 photons at low dose and 600 at full dose,
    where Poisson and its normal approximation agree closely (skewness 1/√λ ≤ 0.18).

    A ray that reads under one photon reads as one photon: the log of zero is undefined, and
    scanners clamp such readings the same way.
    """
    expected = photons * np.exp(-integrals)
    counts = expected + np.sqrt(expected) * rng.standard_normal(expected.shape)
    return -np.log(np.maximum(counts, 1.0) / photons)


def reconstruct(integrals: np.ndarray, size: int, pixel_mm: float = PIXEL_MM) -> np.ndarray:
    """Filtered back-projection (ramp filter) back to Hounsfield units."""
    mu = iradon(integrals / pixel_mm, angles(), circle=False, output_size=size,
                filter_name="ramp")
    return 1000.0 * (mu / MU_WATER_PER_MM - 1.0)
