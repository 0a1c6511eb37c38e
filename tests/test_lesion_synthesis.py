"""Lesion synthesis: the paired phantom, the task's test cases and fill, and its metrics
against independent references (NumPy, SciPy, scikit-learn) on phantom slices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.metrics import f1_score

from medbench.api import GROUPS, EvalContext, Split, lesion_patches
from medbench.cli import app
from medbench.datasets.components.abdomen import MASK_LESION, MASK_LIVER
from medbench.datasets.phantom_lesions.dataset import LESION_CLASSES, render_chunk
from medbench.metrics import condition_fidelity
from medbench.metrics.condition_fidelity import per_image_dice
from medbench.metrics.lesion import (
    CONTEXT_MARGIN,
    ContextMAE,
    LesionDice,
    reference_segmenter,
)
from medbench.tasks import lesion_synthesis as task_module
from medbench.tasks.lesion_synthesis import (
    LARGE_SCALE,
    SMALL_SCALE,
    augmentation_cases,
    fill_lesion,
    lesion_pairs,
    placement_cases,
    scaled,
    to_border,
)

from support import TinyPairsPlugin


@pytest.fixture(scope="module")
def chunk() -> dict[str, np.ndarray]:
    return render_chunk(range(150), np.random.SeedSequence([5]))


@pytest.fixture(scope="module")
def pairs(chunk) -> Split:
    """The chunk as the task's split at 64 px (what a run hands `fit_data`)."""
    from medbench.api import SplitArrays
    from medbench.datasets.phantom_lesions.dataset import PhantomLesions
    from medbench.run.data import to_split

    split = to_split("test", SplitArrays(chunk), PhantomLesions(), 64)
    return lesion_pairs(split, with_target=True)


def test_the_healthy_slice_is_the_lesion_slice_without_its_lesion(chunk) -> None:
    image, healthy, mask = (chunk[name].astype(int) for name in ("image", "healthy", "mask"))
    lesion = chunk["mask"] == MASK_LESION
    assert lesion.reshape(len(lesion), -1).sum(1).min() >= 1  # every slice has a lesion
    difference = np.abs(image - healthy)

    def beyond(pixels: int) -> np.ndarray:
        square = np.ones((1, 2 * pixels + 1, 2 * pixels + 1), bool)
        return difference[~ndimage.binary_dilation(lesion, structure=square)]

    # Beyond the lesion only its anti-aliased (partial-volume) edge differs, fading fast:
    # the same anatomy and noise otherwise (as the dataset's card states).
    assert beyond(2).max() <= 6 and beyond(2).mean() < 0.05
    assert beyond(5).max() <= 1 and (beyond(5) > 0).mean() < 1e-3
    # Inside, the lesion changes the slice (cysts are darker than liver, say).
    inside = np.abs(image - healthy)[lesion]
    assert inside.mean() > 10
    assert np.bincount(chunk["label"], minlength=3).tolist() == [50, 50, 50]
    assert len(LESION_CLASSES) == 3


def test_the_phantom_bytes_do_not_change_when_the_healthy_slice_is_rendered() -> None:
    from medbench.datasets.components.abdomen import render

    labels = np.array([0, 1, 2, 3, 2])
    plain = render(labels, 64, np.random.default_rng(3))
    both = render(labels, 64, np.random.default_rng(3), healthy=True)
    np.testing.assert_array_equal(plain.image, both.image)
    np.testing.assert_array_equal(plain.mask, both.mask)
    assert plain.healthy is None and both.healthy is not None
    # A normal slice has no lesion: both renderings are the same.
    np.testing.assert_array_equal(both.image[0], both.healthy[0])


def test_pairs_keep_lesion_slices_with_their_masks_and_classes(pairs, chunk) -> None:
    assert pairs.fields == ("healthy", "lesion", "organ", "label", "row", "image")
    np.testing.assert_array_equal(pairs["label"].numpy(), chunk["label"][pairs["row"]])
    truth = chunk["mask"][pairs["row"].numpy()] == MASK_LESION
    np.testing.assert_array_equal(pairs["lesion"][:, 0].numpy().astype(bool), truth)
    liver = np.isin(chunk["mask"][pairs["row"].numpy()], (MASK_LIVER, MASK_LESION))
    np.testing.assert_array_equal(pairs["organ"][:, 0].numpy().astype(bool), liver)


def test_the_rare_cases_are_moved_shrunk_and_grown_inside_the_organ(pairs) -> None:
    lesion, organ = pairs["lesion"].bool(), pairs["organ"].bool()
    small, large = scaled(lesion, SMALL_SCALE) & organ, scaled(lesion, LARGE_SCALE) & organ
    area = lesion.flatten(1).sum(1).double()
    assert 0.15 < float((small.flatten(1).sum(1) / area).median()) < 0.4  # ~0.25
    assert float((large.flatten(1).sum(1) / area).median()) > 2.0  # up to 3.2, cut by organ
    border = to_border(lesion, organ, torch.Generator().manual_seed(0))
    assert not (border & ~organ).any()
    # Each moved mask touches the organ's edge: its distance to the outside is small.
    outside = ~organ[:, 0].numpy()
    for i in range(len(border)):
        if border[i].any():
            distance = ndimage.distance_transform_edt(~outside[i])
            assert distance[border[i, 0].numpy()].min() <= 1.5
    cases = placement_cases(pairs, 30)
    groups = cases["group"]
    assert int((groups == 0).sum()) == 30
    assert {GROUPS[int(g)] for g in groups.unique()} == set(GROUPS)
    # The same cases every time: they do not depend on a run's seed.
    again = placement_cases(pairs, 30)
    assert torch.equal(cases["lesion"], again["lesion"])


def test_fill_replaces_the_grown_lesion_by_the_median_of_the_organ_ring(pairs) -> None:
    image, lesion, organ = pairs["image"][:8], pairs["lesion"][:8].bool(), \
        pairs["organ"][:8].bool()
    filled = fill_lesion(image, lesion, organ)
    cross = ndimage.generate_binary_structure(2, 2)  # the 3x3 square
    for i in range(len(image)):
        grown = ndimage.binary_dilation(lesion[i, 0].numpy(), cross)
        ring = ndimage.binary_dilation(grown, cross, iterations=task_module.FILL_RING)
        ring &= ~grown & organ[i, 0].numpy()
        values = np.sort(image[i, 0].numpy()[ring])
        median = values[(len(values) - 1) // 2]  # torch's median: the lower middle value
        np.testing.assert_array_equal(filled[i, 0].numpy()[~grown], image[i, 0].numpy()[~grown])
        np.testing.assert_allclose(filled[i, 0].numpy()[grown], median)


def test_patches_are_centred_on_the_mask_and_kept_inside(pairs) -> None:
    images, masks = pairs["image"][:10], pairs["lesion"][:10].bool()
    patches = lesion_patches(images, masks, 32)
    for i in range(10):
        cy, cx = ndimage.center_of_mass(masks[i, 0].numpy())
        top = int(np.clip(round(cy) - 16, 0, 32))
        left = int(np.clip(round(cx) - 16, 0, 32))
        np.testing.assert_array_equal(patches[i].numpy(),
                                      images[i, :, top : top + 32, left : left + 32].numpy())


def test_donor_masks_fall_inside_each_slices_organ(pairs) -> None:
    donors = augmentation_cases(pairs)
    lesion = donors["lesion"].bool()
    assert not (lesion & ~pairs["organ"].bool()).any()
    assert (lesion.flatten(1).sum(1) > 0).all()
    # Most masks come from another slice (not the slice's own lesion).
    own = (lesion == pairs["lesion"].bool()).flatten(1).all(1)
    assert float(own.double().mean()) < 0.5


class _Features:
    """The harness's feature cache, in memory."""

    def __init__(self) -> None:
        self.stored: dict[str, torch.Tensor] = {}

    def get_or_compute(self, key, compute, rows):
        if key not in self.stored:
            self.stored[key] = compute()
        return self.stored[key]


def _inputs(pairs: Split, output: torch.Tensor, cases: dict) -> task_module.LesionInputs:
    context = EvalContext(torch.device("cpu"), 0, len(output), pairs.info,
                          {"train": "t", "test": "s"}, _Features())
    typical = int((cases["group"] == 0).sum())
    requested = cases["lesion"].bool()
    real = pairs["image"][:typical]
    return task_module.LesionInputs(
        healthy=cases["healthy"], output=output, requested=requested,
        organ=cases["organ"].bool(), labels=cases["label"], groups=cases["group"],
        real=real, real_patches=lesion_patches(real, requested[:typical], 32),
        generated_patches=lesion_patches(output[:typical], requested[:typical], 32),
        train=pairs, synthetic=pairs["image"], synthetic_lesion=pairs["lesion"].bool(),
        synthetic_labels=pairs["label"], class_names=LESION_CLASSES, value_range=(0.0, 255.0),
        units="8-bit", patch_size=32, context=context)


def _real_where_possible(pairs: Split) -> tuple[dict, torch.Tensor]:
    """40 typical cases and their rare ones, and as the outputs the real lesion slices at
    the typical cases (the healthy slices at the rare ones, which have no real slice)."""
    cases = placement_cases(pairs, 40)
    output = cases["healthy"].clone()
    output[cases["group"] == 0] = pairs["image"][:40]
    return cases, output


def test_context_error_equals_a_numpy_reference_on_realistic_outputs(pairs) -> None:
    cases, output = _real_where_possible(pairs)
    typical = cases["group"] == 0
    # A method that paints the lesion and also brightens the whole slice a little.
    output = (output + 0.02).clamp(0, 1)
    score = ContextMAE().compute(_inputs(pairs, output, cases), None)
    square = np.ones((1, 2 * CONTEXT_MARGIN + 1, 2 * CONTEXT_MARGIN + 1), bool)
    outside = ~ndimage.binary_dilation(cases["lesion"][:, 0].numpy().astype(bool), square)
    change = np.abs(output[:, 0].numpy().astype(np.float64)
                    - cases["healthy"][:, 0].numpy().astype(np.float64)) * 255
    assert score.value == pytest.approx(change[outside].mean(), rel=1e-12)
    assert score.details["per_placement"]["typical"] == pytest.approx(
        np.mean([change[i][outside[i]].mean() for i in np.flatnonzero(typical.numpy())]),
        rel=1e-12)
    identity = ContextMAE().compute(_inputs(pairs, cases["healthy"], cases), None)
    assert identity.value == 0.0


def test_condition_dice_equals_scikit_learn_and_real_slices_reach_the_ceiling(
        pairs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(condition_fidelity, "STEPS", 30)
    cases, output = _real_where_possible(pairs)
    typical = cases["group"] == 0
    inputs = _inputs(pairs, output, cases)
    score = LesionDice("lesion_dice", "typical", "").compute(inputs, None)
    border = LesionDice("lesion_dice_border", "border", "").compute(inputs, None)
    # The real slices are the outputs: the value is the ceiling, exactly.
    assert score.value == pytest.approx(score.details["real_images_dice"], abs=1e-12)
    segmenter, _ = inputs.shared("lesion/segmenter", lambda: reference_segmenter(inputs))
    predicted = condition_fidelity.segment(segmenter, output, torch.device("cpu"))
    expected = [f1_score(cases["lesion"][i].flatten().numpy(), predicted[i].flatten().numpy(),
                         zero_division=0.0) for i in range(len(output))]
    dice = per_image_dice(predicted, cases["lesion"].bool())
    np.testing.assert_allclose(dice.numpy(), expected, atol=1e-6)
    assert score.value == pytest.approx(np.mean(np.array(expected)[typical.numpy()]), abs=1e-6)
    at_border = (cases["group"] == 1).numpy()
    assert border.value == pytest.approx(np.mean(np.array(expected)[at_border]), abs=1e-6)
    assert border.n_samples == {"cases": int(at_border.sum())}


def test_class_accuracy_equals_scikit_learn_on_the_reference_classifiers_answers(
        pairs, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.metrics import accuracy_score

    from medbench.metrics import lesion
    from medbench.metrics.downstream import recipe

    monkeypatch.setattr(lesion, "CLASSIFIER_STEPS", 300)
    cases, output = _real_where_possible(pairs)
    typical = cases["group"] == 0
    trained = []
    original = recipe.train_classifier

    def keep(*args, **kwargs):
        trained.append(original(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(recipe, "train_classifier", keep)
    score = lesion.LesionClassAccuracy().compute(_inputs(pairs, output, cases), None)
    predicted = recipe.predict(trained[0], lesion_patches(output, cases["lesion"].bool(), 32),
                               torch.device("cpu")).argmax(1).numpy()
    labels = cases["label"].numpy()
    assert score.value == pytest.approx(
        accuracy_score(labels[typical.numpy()], predicted[typical.numpy()]), abs=1e-6)
    # The outputs are the real slices: the value is the ceiling.
    assert score.value == pytest.approx(score.details["real_patches_accuracy"], abs=1e-6)
    small = (cases["group"] == 3).numpy()
    assert score.details["per_placement"]["large"] == pytest.approx(
        accuracy_score(labels[small], predicted[small]), abs=1e-6)


def test_the_task_runs_on_real_ct_in_the_decathlon_layout_with_filled_slices(
        runner, make_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from layouts import write_msd_liver

    monkeypatch.setattr(condition_fidelity, "STEPS", 5)
    write_msd_liver(tmp_path / "data", patients=6, size=48, slices=10)
    host = make_host()
    out = tmp_path / "runs"
    result = runner.invoke(app, ["run", "--method", "identity", "--task", "lesion-synthesis",
                                 "--dataset", "msd-liver", "--budget", "tiny", "--data-dir",
                                 str(tmp_path / "data"), "--out", str(out), "--device", "cpu"],
                           obj=host)
    assert result.exit_code == 0, result.output
    [folder] = list(out.iterdir())
    record = json.loads((folder / "record.json").read_text())
    assert record["status"]["state"] == "ok"
    assert record["metrics"]["lesion_class_accuracy"]["status"] == "unavailable"
    assert "1 lesion class" in record["metrics"]["lesion_class_accuracy"]["reason"]
    assert record["metrics"]["context_mae"]["value"] == 0.0


def test_a_dataset_without_an_organ_or_lesion_is_refused_in_one_line(
        runner, make_host, tmp_path: Path) -> None:
    host = make_host(TinyPairsPlugin())
    result = runner.invoke(app, ["run", "--method", "identity", "--task", "lesion-synthesis",
                                 "--dataset", "tiny-retina-lesions", "--budget", "tiny",
                                 "--out", str(tmp_path)], obj=host)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "'liver'" in result.output
