"""Every metric against an independent reference implementation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from medbench.api import MetricUnavailable, SilentProgress
from medbench.metrics.features import random_cnn
from medbench.metrics.features.inception import InceptionExtractor, hub_weights_path
from medbench.metrics.synthesis import frechet_distance, kernel_distance


def feature_sets(seed: int = 0, n: int = 300, d: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    fake = rng.standard_normal((n + 50, d)) @ rng.standard_normal((d, d)) * 0.8 + 0.3
    return torch.from_numpy(real).float(), torch.from_numpy(fake).float()


def test_frechet_distance_matches_pytorch_fid() -> None:
    real, fake = feature_sets()
    r, f = real.double().numpy(), fake.double().numpy()
    expected = calculate_frechet_distance(r.mean(0), np.cov(r, rowvar=False),
                                          f.mean(0), np.cov(f, rowvar=False))
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-4)


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    real, _ = feature_sets()
    assert abs(frechet_distance(real, real)) < 1e-3


def direct_kid(real: np.ndarray, fake: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018), by the formula."""
    d = real.shape[1]
    k_rr = (real @ real.T / d + 1) ** 3
    k_ff = (fake @ fake.T / d + 1) ** 3
    k_rf = (real @ fake.T / d + 1) ** 3
    m = len(real)
    off_diagonal = m * (m - 1)
    return ((k_rr.sum() - np.trace(k_rr)) / off_diagonal
            + (k_ff.sum() - np.trace(k_ff)) / off_diagonal - 2 * k_rf.mean())


def test_kernel_distance_matches_the_direct_formula() -> None:
    real, fake = feature_sets(n=200)
    fake = fake[:200]
    # One subset the size of the data is the whole data, in some order: the formula exactly.
    mean, std, size = kernel_distance(real, fake, seed=0, subsets=1, subset_size=200)
    expected = direct_kid(real.double().numpy(), fake.double().numpy())
    assert size == 200
    assert mean == pytest.approx(expected, rel=1e-6)
    assert std == 0.0


def test_kernel_distance_is_reproducible_for_a_seed() -> None:
    real, fake = feature_sets()
    first = kernel_distance(real, fake, seed=3, subsets=20, subset_size=100)
    assert first == kernel_distance(real, fake, seed=3, subsets=20, subset_size=100)
    assert first != kernel_distance(real, fake, seed=4, subsets=20, subset_size=100)


def test_random_cnn_weights_are_pinned_and_deterministic() -> None:
    weights = random_cnn.draw_weights()
    assert random_cnn.weights_sha256(weights) == random_cnn.WEIGHTS_SHA256
    extractor = random_cnn.RandomCNNExtractor()
    images = torch.rand(6, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with SilentProgress().bar("x", 6) as bar:
        first = extractor.extract(images, torch.device("cpu"), bar)
        second = random_cnn.RandomCNNExtractor().extract(images, torch.device("cpu"), bar)
    assert first.shape == (6, random_cnn.RandomCNNExtractor.dims)
    assert torch.equal(first, second)
    assert extractor.identity().startswith("randcnn-v2-")


def test_random_cnn_refuses_weights_that_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random_cnn, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(MetricUnavailable, match="would not be comparable"):
        random_cnn.RandomCNNExtractor().identity()


def test_inception_is_unavailable_without_weights_and_says_how_to_get_them() -> None:
    with pytest.raises(MetricUnavailable) as excinfo:
        InceptionExtractor().identity()
    assert "not found" in excinfo.value.reason
    assert "--inception-weights" in excinfo.value.hint


@pytest.mark.parametrize("source", ["torch-hub-cache", "explicit-path"])
def test_inception_features_offline(source: str, inception_checkpoint: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if source == "torch-hub-cache":  # TORCH_HOME points into tmp_path (conftest)
        hub_weights_path().parent.mkdir(parents=True, exist_ok=True)
        hub_weights_path().symlink_to(inception_checkpoint)
        extractor = InceptionExtractor()
    else:
        extractor = InceptionExtractor(inception_checkpoint)
    images = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with SilentProgress().bar("x", 3) as bar:
        features = extractor.extract(images, torch.device("cpu"), bar)
    assert features.shape == (3, 2048)
    assert torch.isfinite(features).all()
    described = extractor.describe()
    assert described["official_weights"] is False  # random weights are not the release
    assert extractor.identity() == f"inception-pool3-{described['weights_sha256'][:12]}"
    # pytorch-fid's own pipeline on the same pixels: 8-bit RGB in [0, 1], pool3 output.
    from pytorch_fid.inception import InceptionV3

    from medbench.metrics.features.inception import load_fid_inception

    reference: InceptionV3 = load_fid_inception(inception_checkpoint).eval()
    rgb = (images * 255).round().div(255).repeat(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference(rgb)[0].flatten(1)
    assert torch.allclose(features, expected, atol=1e-5)
    # Loading from a path leaves torch's hub lookup as it was: it still follows TORCH_HOME.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "elsewhere"))
    assert Path(torch.hub.get_dir()) == tmp_path / "elsewhere" / "hub"
