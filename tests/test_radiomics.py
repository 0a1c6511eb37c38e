"""The radiomics space and FRD: medbench's values equal frd-score's own `compute_frd` and
feature extraction, run as its users run them (8-bit PNG files on disk), on crops of real CT
and MR slices; the space's other distances run end to end; without PyRadiomics every
radiomics metric is unavailable with the line that installs it.

The reference shares PyRadiomics, frd-score's extraction config and its Fréchet distance
with medbench; what it checks independently is everything medbench does itself: images in
memory instead of files, the mask, the feature vector (numeric diagnostics included), the
v1 normalisation against the real images, the columns dropped, and the log.
"""

from __future__ import annotations

import json
import math
from importlib.metadata import PackageNotFoundError
from pathlib import Path

import numpy as np
import pydicom
import pytest
import torch
from frd_score import compute_frd
from frd_score.frd import compute_features, get_feature_extractor
from PIL import Image
from pydicom.data import get_testdata_file

from medbench.api import MetricUnavailable, SilentProgress
from medbench.cli import app
from medbench.plugins.feature_spaces import radiomics
from medbench.plugins.feature_spaces.radiomics import RadiomicsExtractor, frd_v1
from medbench.run import budgets
from medbench.run.budgets import Budget

CROP = 32


def windowed(name: str) -> np.ndarray:
    pixels = pydicom.dcmread(get_testdata_file(name)).pixel_array.astype(np.float64)
    low, high = np.percentile(pixels, [1, 99])
    return np.clip((pixels - low) / (high - low), 0, 1)


def crops(slice_: np.ndarray, n: int, seed: int, noise: float = 0.0) -> torch.Tensor:
    """n random CROPxCROP crops in [0, 1], 8-bit already, optionally with Gaussian noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y, x = rng.integers(0, slice_.shape[0] - CROP), rng.integers(0, slice_.shape[1] - CROP)
        crop = slice_[y : y + CROP, x : x + CROP] + noise * rng.standard_normal((CROP, CROP))
        out.append(np.round(np.clip(crop, 0, 1) * 255) / 255)
    return torch.from_numpy(np.stack(out)[:, None]).float()


def as_pngs(images: torch.Tensor, folder: Path) -> list[str]:
    folder.mkdir()
    paths = []
    for index, image in enumerate(images):
        path = folder / f"{index:03d}.png"
        Image.fromarray(np.round(image[0].numpy() * 255).astype(np.uint8)).save(path)
        paths.append(str(path))
    return paths


def medbench_features(images: torch.Tensor, workers: int = 0) -> np.ndarray:
    """`workers` > 1 shares even these few images out among processes."""
    extractor = RadiomicsExtractor(workers)
    extractor.min_shared = 2 * extractor.chunk
    with SilentProgress().bar("features", len(images)) as bar:
        return extractor.extract(images, torch.device("cpu"), bar).numpy()


@pytest.fixture(scope="module")
def image_sets() -> dict[str, torch.Tensor]:
    ct, mr = windowed("CT_small.dcm"), windowed("MR_small.dcm")
    return {"real": crops(ct, 40, seed=0), "close": crops(ct, 36, seed=1, noise=0.02),
            "far": crops(mr, 36, seed=2)}


@pytest.fixture(scope="module")
def ours(image_sets) -> dict[str, np.ndarray]:
    """medbench's features of each set, extracted once (two worker processes)."""
    return {name: medbench_features(images, workers=2) for name, images in image_sets.items()}


def test_features_equal_frd_scores_extraction_from_png_files(image_sets, tmp_path: Path) -> None:
    images = image_sets["close"][:12]
    files = as_pngs(images, tmp_path / "images")
    expected, _, _ = compute_features(files, get_feature_extractor("v1", image_dim=2),
                                      num_workers=1, frd_version="v1")
    ours = medbench_features(images)
    assert ours.shape == expected.shape and ours.shape[1] > 300
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9)


def test_worker_processes_give_the_features_of_one_process(image_sets, ours) -> None:
    # 36 images: enough to share out among two processes
    np.testing.assert_array_equal(ours["far"], medbench_features(image_sets["far"], workers=1))


@pytest.mark.parametrize("generated", ["close", "far"])
def test_frd_equals_frd_scores_compute_frd_on_the_same_files(image_sets, ours, generated: str,
                                                             tmp_path: Path) -> None:
    real, fake = image_sets["real"], image_sets[generated]
    expected = compute_frd([as_pngs(real, tmp_path / "real"), as_pngs(fake, tmp_path / "fake")],
                           num_workers=2)
    value, details = frd_v1(ours["real"], ours[generated])
    assert value == pytest.approx(float(expected), rel=1e-6)
    assert 0 < details["features_used"] < details["features"]  # constant columns dropped


def test_frd_orders_a_noisy_copy_before_another_modality(ours) -> None:
    close, _ = frd_v1(ours["real"], ours["close"])
    far, _ = frd_v1(ours["real"], ours["far"])
    assert close < far


def test_an_image_pyradiomics_cannot_describe_is_dropped_and_counted(image_sets,
                                                                     ours) -> None:
    real = ours["real"]
    fake_images = image_sets["close"][:12].clone()
    fake_images[3] = 0.5  # constant: PyRadiomics finds no grey-level range to describe
    fake = medbench_features(fake_images)
    value, details = frd_v1(real, fake)
    assert math.isfinite(value)
    dropped = details["images_dropped"]
    assert dropped["real"] == 0 and dropped["generated"] == int(np.isnan(fake).any(axis=1).sum())
    with pytest.raises(MetricUnavailable, match="fewer than two"):
        frd_v1(real, np.full((5, real.shape[1]), np.nan))


RADIOMICS_METRICS = "frd,fd_radiomics,kid_radiomics,precision_radiomics,coverage_radiomics"


@pytest.fixture
def tiny_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(budgets.BUDGETS, "tiny", Budget(
        "tiny", image_size=32, train_images=64, eval_samples=12, intended_for="tests"))


def test_frd_and_every_distance_run_in_the_radiomics_space(runner, host, tiny_args,
                                                           tiny_budget, tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", RADIOMICS_METRICS), obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    for name in RADIOMICS_METRICS.split(","):
        entry = record["metrics"][name]
        assert entry["status"] == "ok", (name, entry)
        assert math.isfinite(entry["value"]) and entry["n_samples"]["generated"] == 12
        assert entry["details"]["extractor"].startswith("radiomics-frdv1-pyradiomics3.0.1")
    assert record["metrics"]["frd"]["details"]["frd_version"] == "v1"


def test_without_pyradiomics_every_radiomics_metric_is_unavailable_with_the_install_line(
        runner, host, tiny_args, tiny_budget, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(package: str) -> str:
        raise PackageNotFoundError(package)

    monkeypatch.setattr(radiomics, "version", not_installed)
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "frd,fd_radiomics,fd_randcnn"),
                           obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    assert record["metrics"]["fd_randcnn"]["status"] == "ok"
    for name in ("frd", "fd_radiomics"):
        assert record["metrics"][name]["status"] == "unavailable"
        assert "PyRadiomics and frd-score are not installed" in record["metrics"][name]["reason"]
    assert "--no-build-isolation pyradiomics==3.0.1" in " ".join(result.output.split())


def test_a_negative_worker_count_is_refused_before_training(runner, host, tiny_args,
                                                            tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "frd", "--metric-option",
                                          "frd.radiomics_workers=-1"), obj=host)
    assert result.exit_code != 0
    assert "radiomics_workers is -1" in result.output and "Traceback" not in result.output
    assert not list((tmp_path / "runs").rglob("record.json"))
