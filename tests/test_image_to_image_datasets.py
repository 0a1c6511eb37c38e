"""The three paired datasets: pinned, deterministic, and their pairs show the same anatomy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation

from medbench.api import SPLITS, Field, Split, SplitArrays
from medbench.api.data import DataInfo
from medbench.datasets.brain_mrct import dataset as brain
from medbench.datasets.brain_mrct.anatomy import AIR, CSF, GREY_MATTER, SKULL, WHITE_MATTER
from medbench.datasets.brain_mrct.template import load_template
from medbench.datasets.components.abdomen import MASK_LIVER
from medbench.datasets.lowdose_ct import dataset as lowdose
from medbench.datasets.retina import dataset as retina
from medbench.tasks.image_to_image import unpair


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def brain_val(template) -> SplitArrays:
    return brain.build_split("val", template)


@pytest.fixture(scope="module")
def lowdose_val() -> SplitArrays:
    return lowdose.build_split("val")


@pytest.fixture(scope="module")
def retina_val() -> SplitArrays:
    return retina.build_split("val")


@pytest.mark.parametrize("spec, fixture", [(brain.BrainMRCT(), "brain_val"),
                                           (lowdose.LowDoseCT(), "lowdose_val"),
                                           (retina.Retina(), "retina_val")])
def test_the_val_split_rebuilds_to_its_pinned_hash(spec, fixture, request) -> None:
    """The val split is rebuilt here from the definition (the others take minutes); it must
    be the very bytes the committed manifest pins."""
    built: SplitArrays = request.getfixturevalue(fixture)
    pinned = spec.manifest()["val"]
    assert len(built) == pinned.size
    for name in spec.field_names:
        assert built.field_sha256(name) == pinned.fields[name], name
    assert built.sha256(spec.field_names) == pinned.sha256
    assert set(spec.manifest()) == set(SPLITS)
    assert spec.card().startswith(f"# {spec.name}")


def test_rendering_is_deterministic_and_seed_dependent(template) -> None:
    seed = np.random.SeedSequence([1, 2])
    first = brain.render_chunk(template, 3, seed)
    again = brain.render_chunk(template, 3, np.random.SeedSequence([1, 2]))
    other = brain.render_chunk(template, 3, np.random.SeedSequence([1, 3]))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])
    for render in (lowdose.render_chunk, retina.render_chunk):
        a, b = render(range(2), np.random.SeedSequence([4])), render(range(2),
                                                                     np.random.SeedSequence([4]))
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_brain_pairs_show_the_same_anatomy_and_no_pointwise_mapping(brain_val) -> None:
    mr, ct, tissue = (brain_val[name].astype(np.float64) for name in ("mr", "ct", "tissue"))
    # CSF next to the skull is a 1-2.5 mm shell: at 3.5 mm pixels it is mostly bone.
    near_skull = np.stack([binary_dilation(t == SKULL, iterations=2) for t in tissue])
    pixels = {"air": tissue == AIR, "skull": tissue == SKULL,
              "csf": (tissue == CSF) & ~near_skull, "gm": tissue == GREY_MATTER,
              "wm": tissue == WHITE_MATTER}
    mean = {name: (mr[where].mean(), ct[where].mean()) for name, where in pixels.items()}
    # CT, pixel for pixel, is the tissue the label map says: bone bright, air at -1000 HU.
    assert mean["skull"][1] > 600 and mean["air"][1] < -950
    assert 20 < mean["wm"][1] < 35 and 30 < mean["gm"][1] < 45 and mean["csf"][1] < 20
    # T1 contrast on the same pixels: white > grey > CSF.
    assert mean["wm"][0] > mean["gm"][0] > mean["csf"][0]
    # Bone and air are both dark in MR yet at opposite ends in CT: MR -> CT is not pointwise.
    assert mean["skull"][0] < 0.5 * mean["wm"][0] and mean["air"][0] < 0.5 * mean["wm"][0]
    assert mean["skull"][1] - mean["air"][1] > 1500
    assert brain_val["ct"].dtype == np.int16 and brain_val["mr"].dtype == np.uint16


def test_lowdose_pairs_are_one_slice_at_two_doses(lowdose_val) -> None:
    low = lowdose_val["low_dose"].astype(np.float64)
    full = lowdose_val["full_dose"].astype(np.float64)
    liver = lowdose_val["mask"] == MASK_LIVER
    difference = (low - full)[liver]
    # Same anatomy: the liver reads the same on average; only the noise differs.
    assert abs(difference.mean()) < 5
    assert 25 < difference.std() < 80
    # Pixel-to-pixel differences in the liver: its texture plus noise. Full-dose noise is
    # about 1/sqrt(20) of low-dose noise, so the full-dose image is far smoother.
    high_pass = lambda image: image[:, 1:, :] - image[:, :-1, :]  # noqa: E731
    assert high_pass(full)[liver[:, 1:, :]].std() < 0.5 * high_pass(low)[liver[:, 1:, :]].std()
    correlation = np.corrcoef(low.ravel(), full.ravel())[0, 1]
    assert correlation > 0.95


def test_retina_vessels_are_dark_where_the_map_says(retina_val) -> None:
    vessels = retina_val["vessels"].astype(np.float64).sum(axis=1) / 255
    green = retina_val["fundus"][:, 1].astype(np.float64)
    assert 0.04 < (vessels >= 0.5).mean() < 0.2
    for image in range(len(vessels)):
        inside = np.hypot(*np.meshgrid(np.linspace(-1, 1, 64), np.linspace(-1, 1, 64))) < 0.8
        on, off = (vessels[image] >= 0.5) & inside, (vessels[image] < 0.05) & inside
        assert green[image][on].mean() < 0.85 * green[image][off].mean()
    assert retina_val["fundus"].shape[1:] == (3, 64, 64)
    assert retina_val["vessels"].shape[1:] == (2, 64, 64)


def test_unpairing_breaks_every_pair() -> None:
    """Each sample is its own subject: sources and targets come from disjoint halves."""
    n = 40
    ids = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 4, 4)
    info = DataInfo(4, {"source": Field("source", "image", "float32", value_range=(0, 1)),
                        "target": Field("target", "image", "float32", value_range=(0, 1))})
    split = Split("train", {"source": ids, "target": ids.clone()}, info)
    unpaired = unpair(split, torch.Generator().manual_seed(0))
    sources = unpaired["source"][:, 0, 0, 0].long()
    targets = unpaired["target"][:, 0, 0, 0].long()
    assert len(unpaired) == n // 2
    assert not set(sources.tolist()) & set(targets.tolist())
    assert (sources != targets).all()
    again = unpair(split, torch.Generator().manual_seed(0))
    assert torch.equal(again["source"], unpaired["source"])
