"""Precision/recall/density/coverage, the memorization audit and the downstream classifier
scores, each against an independent reference on fixed inputs."""

from __future__ import annotations

import contextlib
import io
import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from prdc import compute_prdc
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from medbench.metrics.downstream import stratified_subset
from medbench.metrics.downstream.recipe import augment
from medbench.metrics.downstream.scores import (
    auroc_interval,
    balanced_accuracy_interval,
    classification_scores,
)
from medbench.metrics.leakage import FLAG_P_VALUE, leakage_flagged
from medbench.metrics.memorization import nearest_distances, wilson_interval
from medbench.metrics.prdc import prdc
from medbench.tasks.per_class import proportional_shares


def clouds(seed: int, n_real: int = 400, n_fake: int = 350, d: int = 12):
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n_real, d))
    fake = rng.standard_normal((n_fake, d)) * 1.3 + 0.4
    return real.astype(np.float32), fake.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [3, 5])
def test_prdc_matches_the_authors_package(seed: int, k: int) -> None:
    real, fake = clouds(seed)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints its sample counts
        expected = compute_prdc(real, fake, nearest_k=k)
    ours = prdc(torch.from_numpy(real), torch.from_numpy(fake), k=k)
    for name in ("precision", "recall", "density", "coverage"):
        assert float(getattr(ours, name).mean()) == pytest.approx(expected[name], abs=1e-9), name


def test_prdc_of_identical_sets_is_perfect_and_of_far_sets_is_zero() -> None:
    real, _ = clouds(3)
    same = prdc(torch.from_numpy(real), torch.from_numpy(real.copy()))
    assert float(same.precision.mean()) == 1.0 and float(same.coverage.mean()) == 1.0
    far = prdc(torch.from_numpy(real), torch.from_numpy(real + 100.0))
    for name in ("precision", "recall", "density", "coverage"):
        assert float(getattr(far, name).mean()) == 0.0


def test_prdc_refuses_sets_smaller_than_k() -> None:
    with pytest.raises(ValueError, match="more than k=5"):
        prdc(torch.zeros(5, 3), torch.zeros(50, 3))


def test_nearest_distances_match_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    train = torch.from_numpy(rng.random((700, 1, 8, 8)).astype(np.float32))
    queries = torch.from_numpy(rng.random((600, 1, 8, 8)).astype(np.float32))
    expected, _ = NearestNeighbors(n_neighbors=1).fit(train.flatten(1).numpy()).kneighbors(
        queries.flatten(1).numpy())
    assert np.allclose(nearest_distances(queries, train).numpy(), expected[:, 0], atol=1e-5)


def realistic_images(n: int, seed: int) -> torch.Tensor:
    """Smooth, bright 32x32 images (large norms, like CT slices), where the fast distance
    formula's rounding is largest."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, 1, 8, 8)) * 0.3 + 0.5
    return torch.nn.functional.interpolate(torch.from_numpy(base), size=32, mode="bilinear")


def test_exact_copies_are_at_distance_zero_and_the_rest_exact() -> None:
    """Three train images leaked into the queries sit at exactly 0; every other distance
    equals scipy's term-by-term one to round-off."""
    from scipy.spatial.distance import cdist

    train, queries = realistic_images(900, 5), realistic_images(300, 6)
    queries[:3] = train[[10, 200, 700]]
    ours = nearest_distances(queries, train).numpy()
    expected = cdist(queries.flatten(1).numpy(), train.flatten(1).numpy()).min(axis=1)
    assert (ours[:3] == 0.0).all()
    assert np.allclose(ours, expected, rtol=1e-12, atol=0)


def test_prdc_of_realistic_features_against_themselves_is_exactly_one() -> None:
    """Generated = real: density is 1 (each sample lies in its own ball and, exactly on
    their radius, in none of the neighbours' whose k-th neighbour it is), not 1.002."""
    rng = np.random.default_rng(6)
    features = torch.from_numpy(np.maximum(rng.standard_normal((600, 512)) * 3 + 2, 0))
    same = prdc(features, features.clone())
    for name in ("precision", "recall", "density", "coverage"):
        assert float(getattr(same, name).mean()) == 1.0, name


def test_wilson_interval_matches_statsmodels_values() -> None:
    # 15/1500 worked by hand from Wilson's formula; at 0 and n hits the bound is closed-form,
    # z^2 / (n + z^2) from the far end.
    assert wilson_interval(15, 1500) == pytest.approx([0.006069, 0.016434], abs=2e-6)
    assert wilson_interval(0, 100) == pytest.approx([0.0, 0.036995], abs=2e-6)
    assert wilson_interval(100, 100) == pytest.approx([0.963005, 1.0], abs=2e-6)


def random_predictions(seed: int, n: int = 300, classes: int = 4):
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(classes, (n,), generator=generator)
    logits = torch.randn(n, classes, generator=generator) + 1.5 * torch.nn.functional.one_hot(
        target, classes)
    return logits.softmax(dim=1), target


@pytest.mark.parametrize("seed", [0, 1])
def test_classification_scores_match_scikit_learn(seed: int) -> None:
    probs, target = random_predictions(seed)
    names = ("normal", "cyst", "metastasis", "hemangioma")
    scores = classification_scores(probs, target, names)
    y, predicted = target.numpy(), probs.argmax(dim=1).numpy()
    assert scores["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, predicted),
                                                        abs=1e-6)
    assert scores["macro_auroc"] == pytest.approx(
        roc_auc_score(y, probs.double().numpy(), multi_class="ovr", average="macro"), abs=1e-5)
    matrix = confusion_matrix(y, predicted, labels=range(4))
    for index, name in enumerate(names):
        tp = matrix[index, index]
        fn = matrix[index].sum() - tp
        fp = matrix[:, index].sum() - tp
        tn = matrix.sum() - tp - fn - fp
        assert scores["sensitivity"][name] == pytest.approx(tp / (tp + fn), abs=1e-6)
        assert scores["specificity"][name] == pytest.approx(tn / (tn + fp), abs=1e-6)


def test_bootstrap_interval_of_a_gain_brackets_it_and_is_zero_for_equal_arms() -> None:
    probs, target = random_predictions(5)
    worse = probs.roll(1, dims=0)
    low, high = balanced_accuracy_interval(probs, target, seed=0, baseline=worse)
    gain = (balanced_accuracy_score(target, probs.argmax(1))
            - balanced_accuracy_score(target, worse.argmax(1)))
    assert low < gain < high and low > 0
    assert balanced_accuracy_interval(probs, target, seed=0, baseline=probs) == [0.0, 0.0]


def test_stratified_subset_keeps_each_class_share() -> None:
    labels = torch.tensor([0] * 400 + [1] * 200 + [2] * 200 + [3] * 10)
    keep = stratified_subset(labels, 0.1, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[keep]).tolist() == [40, 20, 20, 1]
    assert len(keep.unique()) == len(keep)


def test_augmentation_flips_and_rotates_each_image_on_its_own() -> None:
    image = torch.zeros(1, 1, 16, 16)
    image[..., 4:12, 2:5] = 1.0  # a bar on the left
    batch = image.repeat(64, 1, 1, 1)
    out = augment(batch, torch.Generator().manual_seed(0))
    left = out[..., :, :8].sum(dim=(1, 2, 3))
    right = out[..., :, 8:].sum(dim=(1, 2, 3))
    flipped = right > left
    assert 10 < int(flipped.sum()) < 54  # about half flipped, per image
    assert not torch.equal(out[0], out[1]) or not torch.equal(out[1], out[2])
    assert torch.allclose(out.sum(dim=(1, 2, 3)), batch.sum(dim=(1, 2, 3)), rtol=0.1)


@pytest.mark.parametrize(("total", "counts"), [(60_000, [2000, 1000, 1000, 1000]),
                                               (256, [17, 16, 16, 15]), (7, [1, 1, 1])])
def test_proportional_shares_sum_to_the_budget(total: int, counts: list[int]) -> None:
    shares = proportional_shares(total, counts)
    assert sum(shares) == total
    for share, count in zip(shares, counts, strict=True):
        assert abs(share - total * count / sum(counts)) < 1


def test_two_class_downstream_auroc_interval_is_the_binary_auroc() -> None:
    """Binary datasets (PneumoniaMNIST, BreastMNIST): the interval is built from the same
    AUROC as the point estimate, scikit-learn's binary AUROC of the positive class."""
    rng = np.random.default_rng(3)
    target = torch.from_numpy(rng.integers(0, 2, 300))
    p1 = np.clip(0.3 * target.numpy() + rng.uniform(0, 0.7, 300), 0, 1)
    probs = torch.from_numpy(np.stack([1 - p1, p1], axis=1))
    point = classification_scores(probs, target, ("normal", "pneumonia"))["macro_auroc"]
    assert point == pytest.approx(roc_auc_score(target.numpy(), p1), abs=1e-6)
    low, high = auroc_interval(probs, target, seed=0)
    assert low <= point <= high and high - low < 0.2


def test_prdc_radii_are_the_exact_kth_neighbour_distances() -> None:
    """Radii equal scipy's term-by-term distances to round-off, so a sample that lies
    exactly on a neighbour's radius compares equal to it (not inside)."""
    from scipy.spatial.distance import cdist

    from medbench.metrics.prdc import _kth_neighbour_radii

    points = realistic_images(400, 8).flatten(1)
    expected = np.sort(cdist(points.numpy(), points.numpy()), axis=1)[:, 5]
    assert np.allclose(_kth_neighbour_radii(points, 5).numpy(), expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("copies,n,quantile", [(0, 40, 0.01), (3, 40, 0.01), (4, 40, 0.01),
                                               (40, 40, 0.01), (20, 1500, 0.01),
                                               (31, 1500, 0.01), (40, 1500, 0.01),
                                               (9, 100, 0.05)])
def test_the_test_leakage_flag_is_an_exact_one_sided_binomial_test(copies: int, n: int,
                                                                  quantile: float) -> None:
    # The reference: the upper tail of Binomial(n, quantile), summed exactly in rationals.
    q = Fraction(str(quantile))
    tail = float(sum(math.comb(n, k) * q**k * (1 - q) ** (n - k)
                     for k in range(copies, n + 1)))
    flagged, p_value = leakage_flagged(copies, n, quantile)
    assert p_value == pytest.approx(tail, rel=1e-9, abs=1e-300)
    assert flagged == (tail < FLAG_P_VALUE and copies / n >= 2 * quantile)
