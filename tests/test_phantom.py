"""The embedded phantom: deterministic, pinned by hash, with consistent labels and masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, label

from medbench.datasets.components import abdomen as anatomy
from medbench.datasets.phantom.dataset import SPLIT_SIZES, AbdominalPhantom, class_counts
from medbench.run.data import check_fields, dataset_cache, verify_against_manifest


@pytest.fixture(scope="module")
def phantom_splits(shared_cache: Path):
    return AbdominalPhantom().build(dataset_cache(AbdominalPhantom(), shared_cache / "datasets"))


def test_render_is_deterministic_and_seed_dependent() -> None:
    labels = np.array([0, 1, 2, 3] * 4)
    first = anatomy.render(labels, 64, np.random.default_rng(7))
    second = anatomy.render(labels, 64, np.random.default_rng(7))
    other = anatomy.render(labels, 64, np.random.default_rng(8))
    assert np.array_equal(first.image, second.image)
    assert np.array_equal(first.mask, second.mask)
    assert not np.array_equal(first.image, other.image)


def test_every_split_matches_the_committed_manifest(phantom_splits) -> None:
    dataset = AbdominalPhantom()
    check_fields(dataset, phantom_splits)
    infos = verify_against_manifest(dataset, phantom_splits)
    manifest = dataset.manifest()
    for split, size in SPLIT_SIZES.items():
        assert len(phantom_splits[split]) == size == manifest[split].size
        assert infos[split].sha256 == manifest[split].sha256
        assert infos[split].fields == manifest[split].fields
        counts = np.bincount(phantom_splits[split]["label"], minlength=4)
        assert dict(zip(anatomy.CLASS_NAMES, counts.tolist(), strict=True)) == class_counts(size)
        assert manifest[split].class_counts == class_counts(size)


def test_cached_build_is_identical(phantom_splits, shared_cache: Path) -> None:
    folder = dataset_cache(AbdominalPhantom(), shared_cache / "datasets")
    again = AbdominalPhantom().build(folder)  # from the cache now
    for split in SPLIT_SIZES:
        fields = AbdominalPhantom().field_names
        assert again[split].sha256(fields) == phantom_splits[split].sha256(fields)


def test_splits_share_no_image(phantom_splits) -> None:
    seen = {}
    for split, arrays in phantom_splits.items():
        for image in arrays["image"]:
            key = image.tobytes()
            assert key not in seen, f"an image of {split} also appears in {seen.get(key)}"
            seen[key] = split


def test_lesions_exist_only_in_lesion_classes_and_inside_the_liver() -> None:
    labels = np.repeat(np.arange(4), 25)
    batch = anatomy.render(labels, 64, np.random.default_rng(3))
    lesion_pixels = (batch.mask == anatomy.MASK_LESION).sum(axis=(1, 2))
    assert (lesion_pixels[labels == anatomy.NORMAL] == 0).all()
    assert (lesion_pixels[labels != anatomy.NORMAL] > 0).all()
    assert (batch.mask == anatomy.MASK_LIVER).sum(axis=(1, 2)).min() > 100
    # Inside the liver: the one-pixel ring around each lesion (its dilation minus itself) is
    # mostly liver. A lesion may reach the liver's capsule (the lowest share seen for this
    # seed is 68 %); one drawn outside the liver would have next to no liver around it.
    for mask in batch.mask[labels != anatomy.NORMAL]:
        lesions, count = label(mask == anatomy.MASK_LESION)
        for index in range(1, count + 1):
            lesion = lesions == index
            ring = binary_dilation(lesion) & ~lesion & (mask != anatomy.MASK_LESION)
            in_liver = (mask[ring] == anatomy.MASK_LIVER).mean()
            assert in_liver >= 0.5, f"a lesion's border is only {in_liver:.0%} liver"


def test_lesion_classes_look_different() -> None:
    """Cysts are darker than metastases, whose rims enhance; hemangiomas have bright nodules."""
    labels = np.repeat(np.arange(1, 4), 40)
    batch = anatomy.render(labels, 64, np.random.default_rng(5))
    lesion = batch.mask == anatomy.MASK_LESION
    means = {cls: batch.image[(labels == cls)[:, None, None] & lesion].mean()
             for cls in (anatomy.CYST, anatomy.METASTASIS, anatomy.HEMANGIOMA)}
    assert means[anatomy.CYST] < means[anatomy.METASTASIS]
    assert means[anatomy.CYST] < means[anatomy.HEMANGIOMA]
    peaks = {cls: np.percentile(batch.image[(labels == cls)[:, None, None] & lesion], 95)
             for cls in (anatomy.CYST, anatomy.HEMANGIOMA)}
    assert peaks[anatomy.HEMANGIOMA] > peaks[anatomy.CYST] + 30


def test_card_and_manifest_ship_with_the_package() -> None:
    dataset = AbdominalPhantom()
    card = dataset.card()
    assert "digital phantom" in card and "How it differs from real CT" in card
    assert set(dataset.manifest()) == {"train", "val", "test"}
