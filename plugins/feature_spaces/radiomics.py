"""Radiomic features, and the Fréchet radiomic distance (FRD) computed in them.

FRD (Konz, Osuala et al., "Fréchet Radiomic Distance", Medical Image Analysis 2026)
compares images in hand-crafted radiomic features (intensity statistics and texture
matrices of the image and its wavelet filterings) instead of a network's. It needs no
weights, its features have names a radiologist can read, and its authors found it tracks
downstream task performance and radiologists' quality ratings better than other distances.
This is FRD v1 as `frd-score` 1.0.1, the authors' package, computes it by default:

- features: PyRadiomics with `frd-score`'s own 2D extraction config (398 for a 2D image:
  385 radiomic features and the numeric diagnostics, which v1 keeps), over the whole image
  but one corner pixel (a PyRadiomics workaround that `frd-score` applies too);
- `frd`: both sets z-scored with the *real* images' mean and standard deviation (v1's
  reference normalisation), feature columns that become NaN or infinite dropped, then the
  log of the squared Fréchet distance (`frd-score`'s default, not the paper's log of the
  distance, which is half of it).

The space registers like any other, so ``fd_radiomics``, ``kid_radiomics``,
``precision_radiomics`` and ``intra_fd_radiomics`` exist too; they compare the raw features,
whose scales differ by orders of magnitude. ``frd`` is the one the paper defines.

Hand-written here: frd-score's v1 steps after extraction, which it only offers over image
files, and the in-memory equivalent of how it reads a 2D file; tests/test_radiomics.py checks
both against frd-score itself.

PyRadiomics' PyPI releases do not declare numpy as a build requirement, so pip builds them
only without build isolation (INSTALL_HINT; docs/feature-spaces.md). Without them, the
space's metrics are `unavailable` with that line as the hint.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

import numpy as np
import torch

from medbench.api import (
    FeatureExtractor,
    FeatureSpace,
    GeneratedImages,
    InFeatureSpace,
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
)

PYRADIOMICS_VERSION = "3.0.1"
FRD_SCORE_VERSION = "1.0.1"
INSTALL_HINT = ("pip install numpy setuptools && pip install --no-build-isolation "
                f"pyradiomics=={PYRADIOMICS_VERSION} frd-score=={FRD_SCORE_VERSION} SimpleITK")
FRD_VERSION = "v1"


def installed_versions() -> dict[str, str]:
    """The radiomics libraries' versions; MetricUnavailable, with the install line, if
    either is missing (they are optional: PyRadiomics needs a build step of its own)."""
    try:
        found = {"pyradiomics": version("pyradiomics"), "frd-score": version("frd-score")}
        import frd_score  # noqa: F401  (installed is not importable: a broken build)
        import radiomics  # noqa: F401
    except (PackageNotFoundError, ImportError) as missing:
        raise MetricUnavailable(f"PyRadiomics and frd-score are not installed ({missing})",
                                INSTALL_HINT) from None
    return found


_EXTRACTOR: Any = None  # one PyRadiomics extractor per process, built on first use


def describe_image(pixels: np.ndarray) -> dict[str, float] | None:
    """One image's FRD v1 features, by name; None where PyRadiomics cannot describe it (a
    constant image, say): FRD v1 drops such images, as frd-score drops rows of NaN."""
    global _EXTRACTOR
    import SimpleITK as sitk

    if _EXTRACTOR is None:
        from frd_score.frd import get_feature_extractor
        from radiomics import setVerbosity

        setVerbosity(logging.ERROR + 10)  # per-image warnings would bury the run's output
        _EXTRACTOR = get_feature_extractor(frd_version=FRD_VERSION, image_dim=2)
    # As frd-score reads a 2D file: float32 pixels, a (1, H, W) volume of unit spacing,
    # and a mask of the whole image but its corner pixel.
    image = sitk.GetImageFromArray(pixels.astype(np.float32)[np.newaxis])
    mask_array = np.ones((1, *pixels.shape), np.uint8)
    mask_array[0, 0, 0] = 0
    try:
        output = _EXTRACTOR.execute(image, sitk.GetImageFromArray(mask_array))
    except (ValueError, RuntimeError, IndexError):
        return None
    features = {}
    for name, value in output.items():
        if not name.startswith("diagnostics"):
            features[name] = float(value)
            continue
        # v1 keeps the numeric diagnostics (the image's mean, the mask's size, ...).
        with contextlib.suppress(TypeError, ValueError):
            features[name] = float(value)
    return features


def feature_matrix(described: list[dict[str, float] | None]) -> torch.Tensor:
    """(N, D) float64; NaN rows for the images PyRadiomics could not describe."""
    names = next((list(row) for row in described if row is not None), None)
    if names is None:
        raise MetricUnavailable("PyRadiomics could not describe any of the images "
                                "(are they constant?)")
    rows = []
    for row in described:
        if row is not None and list(row) != names:
            raise MetricUnavailable("PyRadiomics gave different features for images of one "
                                    "set; they differ in size")
        rows.append(np.full(len(names), np.nan) if row is None else list(row.values()))
    return torch.tensor(np.array(rows), dtype=torch.float64)


def cpu_cores() -> int:
    """The cores this process may run on (a cluster job's share, not the node's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _OneByOne(torch.nn.Module):
    """PyRadiomics over a batch in this process: (N, 1, H, W) grey levels -> (N, D). The
    extractor's own `extract` shares images out among processes instead."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return feature_matrix([describe_image(image[0].numpy()) for image in images])


@dataclass(frozen=True)
class RadiomicsOptions:
    # Processes that run PyRadiomics (one image each at a time); 0: one per CPU core.
    # The features do not depend on it.
    radiomics_workers: int = 0

    def __post_init__(self) -> None:
        if self.radiomics_workers < 0:
            raise ValueError(f"radiomics_workers is {self.radiomics_workers}; give a number "
                             f"of processes, or 0 for one per CPU core")


class RadiomicsExtractor(FeatureExtractor):
    name = "radiomics"
    chunk = 16  # images a worker takes at a time: pickling costs little beside ~50 ms each
    # Starting spawned workers costs about 5 s (each imports torch); below this many
    # images one process is as fast (50 ms an image at 32 px on one core).
    min_shared = 256

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or cpu_cores()

    def identity(self) -> str:  # not the workers: the features do not depend on them
        found = installed_versions()
        return f"radiomics-frd{FRD_VERSION}-pyradiomics{found['pyradiomics']}-" \
               f"frdscore{found['frd-score']}"

    def network(self, device: torch.device) -> torch.nn.Module:
        installed_versions()
        return _OneByOne()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """8-bit grey levels, as frd-score reads PNG files (colour: the channels' mean)."""
        gray = images.mean(dim=1, keepdim=True) if images.shape[1] != 1 else images
        return torch.round(gray.float().clamp(0, 1) * 255.0).cpu()

    def extract(self, images: torch.Tensor, device: torch.device, bar: Any) -> torch.Tensor:
        """PyRadiomics runs on the CPU, image by image, so the images are shared out among
        worker processes. Rows stay float64 (values span 1e-6 to 1e12); FRD casts to
        float32 itself, where frd-score does."""
        installed_versions()
        pixels = self.preprocess(images)[:, 0].numpy()
        described = []
        with contextlib.ExitStack() as stack:
            rows = map(describe_image, pixels)
            if self.workers > 1 and len(pixels) >= self.min_shared:
                # spawn, not fork: the parent holds torch's thread pools. An executor, not a
                # multiprocessing.Pool: a worker that dies stops the run instead of hanging it.
                pool = stack.enter_context(ProcessPoolExecutor(
                    min(self.workers, len(pixels) // self.chunk),
                    mp_context=multiprocessing.get_context("spawn")))
                rows = pool.map(describe_image, pixels, chunksize=self.chunk)
            try:
                for row in rows:
                    described.append(row)
                    bar.advance(1)
            except BrokenProcessPool as died:
                raise MetricUnavailable(
                    f"a PyRadiomics worker process died ({died})",
                    "rerun with --metric-option '*.radiomics_workers=1'") from None
        return feature_matrix(described)

    def describe(self) -> dict[str, Any]:
        found = installed_versions()
        return {
            "extractor": self.identity(),
            "architecture": f"PyRadiomics {found['pyradiomics']} with frd-score "
                            f"{found['frd-score']}'s FRD {FRD_VERSION} 2D extraction config "
                            f"(original and wavelet images; firstorder, GLCM, GLRLM, GLSZM, "
                            f"NGTDM) and numeric diagnostics",
            "preprocessing": "grey levels quantised to 8 bits (0-255), whole image but its "
                             "corner pixel as the mask",
        }


RADIOMICS = FeatureSpace("radiomics", "PyRadiomics features (FRD v1's extraction)",
                         RadiomicsOptions,
                         lambda options: RadiomicsExtractor(options.radiomics_workers),
                         default=False, cost="expensive")


def frd_v1(real: np.ndarray, fake: np.ndarray) -> tuple[float, dict[str, Any]]:
    """FRD v1 from raw radiomic features, real (the reference) first: the steps of
    frd-score's `calculate_feature_statistics` for v1, and its distance."""
    from frd_score.frd import calculate_frechet_distance

    kept = []
    for features in (real, fake):  # v1 drops images with any NaN feature, then casts
        kept.append(features[~np.isnan(features).any(axis=1)].astype(np.float32))
    real32, fake32 = kept
    if min(len(real32), len(fake32)) < 2:
        raise MetricUnavailable("fewer than two real or generated images have radiomic "
                                "features (PyRadiomics could not describe the others)")
    mean, std = np.nanmean(real32, axis=0), np.nanstd(real32, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scored = [(features - mean) / std for features in (real32, fake32)]
    finite = np.isfinite(scored[0]).all(axis=0) & np.isfinite(scored[1]).all(axis=0)
    real_z, fake_z = (features[:, finite] for features in scored)
    squared = float(calculate_frechet_distance(
        real_z.mean(axis=0), np.cov(real_z, rowvar=False),
        fake_z.mean(axis=0), np.cov(fake_z, rowvar=False)))
    if squared <= 0:  # frd-score returns -inf; a record holds finite values or a reason
        raise MetricUnavailable(f"the squared Fréchet distance is {squared:.3g} (the two "
                                f"sets' features are identical), and FRD is its log")
    details = {"frd_version": FRD_VERSION, "squared_frechet_distance": squared,
               "features_used": int(finite.sum()), "features": int(len(finite)),
               "images_dropped": {"real": len(real) - len(real32),
                                  "generated": len(fake) - len(fake32)},
               "normalisation": "z-score by the real images' mean and std (population)"}
    return math.log(squared), details


class FrechetRadiomicDistance(InFeatureSpace, Metric):
    name = "frd"
    summary = ("Fréchet radiomic distance (FRD v1): log of the squared Fréchet distance "
               "between radiomic features z-scored by the real images' statistics")
    reads: ClassVar[type[MetricInputs]] = GeneratedImages
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "log of a squared distance in z-scored radiomic features"
    range: ClassVar[tuple[float | None, float | None]] = (None, None)  # a log: can be < 0
    default: ClassVar[bool] = False
    cost: ClassVar[str] = "expensive"
    space = RADIOMICS
    Options: ClassVar[type] = RadiomicsOptions

    @property
    def implementation(self) -> tuple[str, str]:
        try:
            installed = version("frd-score")
        except PackageNotFoundError:
            installed = "not installed"
        return ("frd-score's FRD v1 steps (PyRadiomics features, calculate_frechet_"
                "distance) on in-memory images", installed)

    def compute(self, inputs: GeneratedImages, options: Any) -> Score:
        extractor = self.space.extractor(options)
        real, fake = inputs.features(extractor)
        value, details = frd_v1(real.double().numpy(), fake.double().numpy())
        details.update(extractor.describe())
        return Score(value, {"real": len(real), "generated": len(fake)}, details)
