"""The two modalities' contrast models, applied to one subject's tissue fractions.

MR (T1-weighted, arbitrary units) and CT (Hounsfield units) see the same anatomy very
differently: cortical bone and air are both dark in T1 but at opposite ends of the CT scale,
and the skull's fatty diploe is bright in T1. No pointwise intensity mapping turns one into
the other, which is what makes MR -> CT a translation task.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from medbench.datasets.brain_mrct.anatomy import (
    AIR,
    CSF,
    GREY_MATTER,
    SCALP,
    SKULL,
    TISSUES,
    WHITE_MATTER,
    Anatomy,
)

# T1-weighted signal per tissue (a.u.); the skull's is set by depth (tables vs diploe).
T1_SIGNAL = {AIR: 0.0, SCALP: 700.0, CSF: 180.0, GREY_MATTER: 560.0, WHITE_MATTER: 850.0}
T1_CORTICAL_BONE, T1_DIPLOE = 40.0, 420.0
# CT attenuation per tissue (HU); the skull's is set by depth too.
CT_HU = {AIR: -1000.0, SCALP: 10.0, CSF: 8.0, GREY_MATTER: 38.0, WHITE_MATTER: 28.0}
CT_CORTICAL_BONE, CT_DIPLOE = 1700.0, 750.0
CT_RANGE = (-1024.0, 3000.0)  # stored range (HU), as SynthRAD clips it
MR_RANGE = (0.0, 1600.0)  # stored range (a.u.)


def diploe_weight(depth: np.ndarray) -> np.ndarray:
    """1 in the middle of the skull (diploe), 0 at its inner and outer tables."""
    return np.clip(1.0 - (2.0 * depth - 1.0) ** 2 * 1.6, 0.0, 1.0)


def render_mr(anatomy: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """T1-weighted magnitude: tissue signal, a smooth bias field and Rician noise."""
    signal = _tissue_mix(anatomy, T1_SIGNAL, T1_CORTICAL_BONE, T1_DIPLOE, rng, jitter=0.05)
    size = signal.shape[-1]
    axis = np.linspace(-1, 1, size)
    v, u = np.meshgrid(axis, axis, indexing="ij")
    a = rng.uniform(-0.15, 0.15, size=5)  # a low-order multiplicative bias field
    bias = np.exp(a[0] * u + a[1] * v + a[2] * u * v + a[3] * u**2 + a[4] * v**2)
    clean = signal * bias * rng.uniform(0.85, 1.15)  # scanner gain differs per session
    sigma = rng.uniform(10.0, 25.0)
    real = clean + sigma * rng.standard_normal(clean.shape)
    imaginary = sigma * rng.standard_normal(clean.shape)
    magnitude = np.sqrt(real**2 + imaginary**2)  # Rician: magnitude of complex Gaussian noise
    return np.clip(np.round(magnitude), *MR_RANGE).astype(np.uint16)


def render_ct(anatomy: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """CT in HU: tissue attenuation plus slightly correlated quantum noise."""
    hu = _tissue_mix(anatomy, CT_HU, CT_CORTICAL_BONE, CT_DIPLOE, rng, jitter=0.0)
    hu += rng.uniform(-4, 4) * (anatomy.fractions[GREY_MATTER] + anatomy.fractions[WHITE_MATTER])
    noise = gaussian_filter(rng.standard_normal(hu.shape), 0.6)
    hu += rng.uniform(3.0, 6.0) * noise / max(float(noise.std()), 1e-9)
    return np.clip(np.round(hu), *CT_RANGE).astype(np.int16)


def _tissue_mix(anatomy: Anatomy, values: dict[int, float], cortical: float, diploe: float,
                rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Sum of each tissue's fraction times its value (partial volume mixes at edges)."""
    scale = 1.0 + rng.uniform(-jitter, jitter, size=len(TISSUES)) if jitter else \
        np.ones(len(TISSUES))
    weight = diploe_weight(anatomy.bone_depth)
    bone = (cortical * (1 - weight) + diploe * weight) * scale[SKULL]
    mix = anatomy.fractions[SKULL] * bone
    for tissue, value in values.items():
        mix = mix + anatomy.fractions[tissue] * value * scale[tissue]
    return mix
