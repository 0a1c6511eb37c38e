"""The one preprocessing path, against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from medbench.api import (
    channels_first,
    pad_to_square,
    read_picture,
    resize_array,
    split_patients,
    window,
)
from medbench.api.preprocess import resize


def test_window_matches_the_textbook_formula():
    hu = np.array([-1024, -160, -159.5, 40, 239, 240, 3000], dtype=np.float64)
    expected = np.clip(np.round((hu - (40 - 200)) / 400 * 255), 0, 255)
    np.testing.assert_array_equal(window(hu, 40, 400), expected.astype(np.uint8))


def test_shrinking_is_a_box_filter_for_integer_factors():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (3, 2, 64, 64)).astype(np.float32)
    ours = resize_array(image, 16, "area")
    blocks = image.reshape(3, 2, 16, 4, 16, 4).mean(axis=(3, 5))  # independent: numpy
    np.testing.assert_allclose(ours, blocks, rtol=1e-6)


def test_shrinking_does_not_alias_a_fine_pattern():
    """A one-pixel checkerboard is grey after an anti-aliased shrink, never a new pattern
    (nearest-neighbour or strided sampling would keep only black or white)."""
    board = (np.indices((63, 63)).sum(axis=0) % 2 * 255).astype(np.uint8)
    ours = resize_array(board[None], 20, "area")[0].astype(float)
    assert abs(ours.mean() - 127.5) < 4 and ours.std() < 8


def test_integer_images_are_rounded_and_masks_stay_labels():
    image = np.array([[[0, 255], [255, 255]]], dtype=np.uint8)
    assert resize_array(image, 1, "area").tolist() == [[[191]]]  # 191.25 rounded
    mask = np.zeros((1, 8, 8), np.uint8)
    mask[0, :4, :4] = 2
    assert set(np.unique(resize_array(mask, 3, "nearest"))) <= {0, 2}
    hu = np.full((2, 10, 10), -1024, np.int16)
    assert resize_array(hu, 4, "area").dtype == np.int16
    assert resize_array(np.full((1, 6, 6), 60000, np.uint16), 3, "area").max() == 60000


def test_the_run_path_resizes_as_before():
    """`to_split` went through F.interpolate directly; the shared resizer is the same."""
    tensor = torch.rand(2, 1, 64, 64)
    torch.testing.assert_close(resize(tensor, 32, "area"),
                               torch.nn.functional.interpolate(tensor, size=(32, 32),
                                                               mode="area"))
    torch.testing.assert_close(resize(tensor, 80, "area"),
                               torch.nn.functional.interpolate(tensor, size=(80, 80),
                                                               mode="bilinear"))


def test_pad_to_square_keeps_every_pixel():
    image = np.arange(12).reshape(3, 4)
    padded = pad_to_square(image, -1)
    assert padded.shape == (4, 4) and (padded[3] == -1).all() and (padded[:3] == image).all()
    tall = pad_to_square(np.ones((2, 6, 3)), 0)  # leading axes travel along
    assert tall.shape == (2, 6, 6) and tall[:, :, 1:4].all() and not tall[:, :, [0, 4, 5]].any()


def test_channels():
    grey = np.zeros((5, 6), np.uint8)
    assert channels_first(grey, 3).shape == (3, 5, 6)
    rgba = np.zeros((5, 6, 4), np.uint8)
    assert channels_first(rgba, 3).shape == (3, 5, 6)
    with pytest.raises(ValueError, match="colour"):
        channels_first(np.zeros((5, 6, 3)), 1)


def test_patients_are_split_whole_and_reproducibly():
    patients = [f"P{i}" for i in range(20)] * 3
    first = split_patients(patients, 7)
    assert first == split_patients(list(reversed(patients)), 7)
    counts = {split: list(first.values()).count(split) for split in ("train", "val", "test")}
    assert counts == {"train": 14, "val": 2, "test": 4}
    assert split_patients(patients, 8) != first
    with pytest.raises(ValueError):
        split_patients(["a", "b"], 0)


def test_sixteen_bit_png_is_read_as_sixteen_bit(tmp_path):
    values = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "x.png")
    read = read_picture(tmp_path / "x.png")
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, values)
