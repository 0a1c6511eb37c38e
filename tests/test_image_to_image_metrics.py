"""PSNR, SSIM, NMSE, MAE in HU and condition-fidelity Dice, each against scikit-image or
scikit-learn on the same inputs, under each task's scoring convention."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import f1_score, mean_absolute_error

from medbench.api import (
    ConditionInputs,
    EvalContext,
    Field,
    HounsfieldInputs,
    ImageToImageInputs,
    MetricUnavailable,
    Split,
)
from medbench.api.data import DataInfo
from medbench.metrics import condition_fidelity
from medbench.metrics.condition_fidelity import ConditionDice, per_image_dice
from medbench.metrics.image_to_image import NMSE, PSNR, SSIM, MAEHounsfield
from medbench.tasks.image_to_image import FASTMRI, PAIRED_PHOTO, SYNTHRAD

CT = Field("ct", "image", "int16", value_range=(-1024.0, 3000.0), units="HU")
PHOTO = Field("fundus", "image", "uint8", channels=3)
VESSELS = Field("vessels", "image", "uint8", channels=2)


class MemoryStore:
    def __init__(self) -> None:
        self.computed: list[str] = []
        self.stored: dict[str, torch.Tensor] = {}

    def get_or_compute(self, key: str, compute: Callable[[], torch.Tensor],
                       rows: int) -> torch.Tensor:
        if key not in self.stored:
            self.computed.append(key)
            self.stored[key] = compute()
        assert len(self.stored[key]) == rows
        return self.stored[key]


def context(store: MemoryStore | None = None) -> EvalContext:
    info = DataInfo(32, {"image": CT})
    return EvalContext(torch.device("cpu"), 0, 10, info, {"train": "k-train", "test": "k-test"},
                       store or MemoryStore())


def pairs(seed: int, n: int = 6, channels: int = 1, size: int = 32):
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand(n, channels, size, size, generator=generator, dtype=torch.float64) * 0.6
    noisy = (target + 0.05 * torch.randn(target.shape, generator=generator,
                                         dtype=torch.float64)).clamp(0, 1)
    predicted = (target + 0.02 * torch.randn(target.shape, generator=generator,
                                             dtype=torch.float64)).clamp(0, 1)
    return noisy, target, predicted


def inputs_for(scoring, source, target, predicted, field=CT, body=None, baseline=False,
               cls=HounsfieldInputs, train=None, store=None):
    train = train or Split("train", {"source": source, "target": target},
                           DataInfo(32, {"source": field, "target": field}))
    return cls(source, target, predicted, field, field, scoring, body, baseline, train,
               "k-test/test-ct", context(store))


@pytest.mark.parametrize("seed", [0, 1])
def test_psnr_ssim_nmse_match_scikit_image_fastmri_convention(seed: int) -> None:
    source, target, predicted = pairs(seed)
    inputs = inputs_for(FASTMRI, source, target, predicted, baseline=True)
    psnr = PSNR().compute(inputs, None)
    ssim = SSIM().compute(inputs, None)
    nmse = NMSE().compute(inputs, None)
    expected = {"psnr": [], "ssim": [], "nmse": [], "psnr_in": []}
    for i in range(len(target)):
        t, p, s = target[i, 0].numpy(), predicted[i, 0].numpy(), source[i, 0].numpy()
        expected["psnr"].append(peak_signal_noise_ratio(t, p, data_range=t.max()))
        expected["psnr_in"].append(peak_signal_noise_ratio(t, s, data_range=t.max()))
        expected["ssim"].append(structural_similarity(t, p, data_range=t.max(), win_size=7))
        expected["nmse"].append(normalized_root_mse(t, p, normalization="euclidean") ** 2)
    # torchmetrics holds the data range in float32: agreement to ~1e-7 relative.
    assert psnr.value == pytest.approx(np.mean(expected["psnr"]), rel=1e-6)
    assert psnr.details["input"] == pytest.approx(np.mean(expected["psnr_in"]), rel=1e-6)
    assert psnr.details["gain"] == pytest.approx(psnr.value - psnr.details["input"])
    assert psnr.details["gain"] > 0
    # torchmetrics and scikit-image differ only in the variance estimator (n vs n - 1).
    assert ssim.value == pytest.approx(np.mean(expected["ssim"]), abs=1e-9)
    assert nmse.value == pytest.approx(np.mean(expected["nmse"]), rel=1e-9)
    assert nmse.details["gain"] > 0  # lower is better: a gain is a drop in NMSE
    assert "fastMRI" in psnr.details["convention"]


def test_synthrad_convention_scores_inside_the_body_mask() -> None:
    source, target, predicted = pairs(2)
    body = torch.zeros(len(target), 1, 32, 32, dtype=torch.bool)
    body[:, :, 6:26, 4:28] = True
    predicted[:, :, :3, :] = 1.0  # a wild error outside the body must not count
    inputs = inputs_for(SYNTHRAD, source, target, predicted, body=body)
    psnr, ssim, mae = (metric.compute(inputs, None) for metric in (PSNR(), SSIM(),
                                                                  MAEHounsfield()))
    expected_psnr, expected_ssim, expected_mae = [], [], []
    for i in range(len(target)):
        mask = body[i, 0].numpy()
        t, p = target[i, 0].numpy(), predicted[i, 0].numpy()
        expected_psnr.append(peak_signal_noise_ratio(t[mask], p[mask], data_range=1.0))
        _, full = structural_similarity(t * mask, p * mask, data_range=1.0, win_size=7,
                                        full=True)
        expected_ssim.append(full[mask].mean())
        hu = lambda x: x * 4024.0 - 1024.0  # noqa: E731
        expected_mae.append(mean_absolute_error(hu(t[mask]), hu(p[mask])))
    assert psnr.value == pytest.approx(np.mean(expected_psnr), rel=1e-6)
    assert ssim.value == pytest.approx(np.mean(expected_ssim), abs=1e-9)
    assert mae.value == pytest.approx(np.mean(expected_mae), rel=1e-9)
    assert "input" not in psnr.details  # MR and CT: no input baseline


def test_multichannel_ssim_averages_channels_like_scikit_image() -> None:
    source, target, predicted = pairs(3, channels=3)
    inputs = inputs_for(PAIRED_PHOTO, source, target, predicted, field=PHOTO,
                        cls=ImageToImageInputs)
    ssim = SSIM().compute(inputs, None)
    expected = [structural_similarity(target[i].numpy(), predicted[i].numpy(), data_range=1.0,
                                      win_size=7, channel_axis=0) for i in range(len(target))]
    assert ssim.value == pytest.approx(np.mean(expected), abs=1e-9)
    with pytest.raises(MetricUnavailable, match="not HU"):
        MAEHounsfield().compute(inputs, None)


def test_perfect_predictions_score_perfectly() -> None:
    _, target, _ = pairs(4)
    inputs = inputs_for(FASTMRI, target, target, target.clone())
    assert SSIM().compute(inputs, None).value == pytest.approx(1.0)
    assert NMSE().compute(inputs, None).value == 0.0
    assert MAEHounsfield().compute(inputs, None).value == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dice_matches_scikit_learn_f1(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    truth = torch.rand(5, 1, 16, 16, generator=generator) < 0.2
    predicted = truth ^ (torch.rand(5, 1, 16, 16, generator=generator) < 0.1)
    ours = per_image_dice(predicted, truth)
    for i in range(5):
        expected = f1_score(truth[i].flatten().numpy(), predicted[i].flatten().numpy())
        assert float(ours[i]) == pytest.approx(expected, abs=1e-6)


def test_condition_dice_is_high_for_real_images_and_low_for_blank_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(condition_fidelity, "STEPS", 60)
    generator = torch.Generator().manual_seed(0)
    # Vessel-like maps: random lines; the "photo" is dark where the map is set.
    maps = torch.zeros(48, 2, 32, 32)
    for i in range(48):
        rows = torch.randint(32, (3,), generator=generator)
        cols = torch.randint(32, (3,), generator=generator)
        maps[i, 0, rows, :] = 1.0
        maps[i, 1, :, cols] = 1.0
    photos = torch.full((48, 3, 32, 32), 0.8) - 0.6 * maps.amax(dim=1, keepdim=True)
    train = Split("train", {"source": maps[:36], "target": photos[:36]},
                  DataInfo(32, {"source": VESSELS, "target": PHOTO}))
    store = MemoryStore()
    blank = torch.full_like(photos[36:], 0.8)
    for generated, high in ((photos[36:], True), (blank, False)):
        inputs = inputs_for(PAIRED_PHOTO, maps[36:], photos[36:], generated, field=PHOTO,
                            cls=ConditionInputs, train=train, store=store)
        score = ConditionDice().compute(inputs, None)
        assert score.details["real_images_dice"] > 0.8
        assert (score.value > 0.8) is high and (score.value < 0.2) is not high
        assert len(score.details["segmenter_sha256"]) == 64
    assert len(store.computed) == 1  # the segmenter is trained once, then read back


@pytest.fixture(scope="module")
def lowdose_slices() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Realistic CT: eight phantom slices at 5 % and full dose (FBP), in [0, 1], with the
    body mask, which reaches the image edge on some slices."""
    from medbench.datasets.lowdose_ct import dataset as lowdose

    arrays = lowdose.render_chunk(range(8), np.random.SeedSequence(7))
    field = Field("ct", "image", "int16", value_range=lowdose.HU_RANGE, units="HU")
    low = field.to_unit(torch.from_numpy(arrays["low_dose"])[:, None]).double()
    full = field.to_unit(torch.from_numpy(arrays["full_dose"])[:, None]).double()
    body = torch.from_numpy(arrays["mask"] != 0)[:, None]
    return low, full, body


def reference_ssim_map(x: np.ndarray, y: np.ndarray, data_range: float) -> np.ndarray:
    """Wang et al. (2004) with a 7x7 uniform window, sample covariances (N - 1) and the
    border extended by reflection about the edge (scipy's `reflect`): the conventions of
    scikit-image, fastMRI and SynthRAD, written out here as an independent check."""
    from scipy.ndimage import uniform_filter

    def mean(image: np.ndarray) -> np.ndarray:
        return uniform_filter(image, size=7, mode="reflect")

    norm = 49 / 48
    ux, uy = mean(x), mean(y)
    vx, vy = norm * (mean(x * x) - ux * ux), norm * (mean(y * y) - uy * uy)
    vxy = norm * (mean(x * y) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))


def test_ssim_equals_scikit_image_and_the_formula_on_real_looking_ct(lowdose_slices) -> None:
    """Low-dose CT scored as its own prediction (the identity baseline), fastMRI-style."""
    low, full, _ = lowdose_slices
    ssim = SSIM().compute(inputs_for(FASTMRI, low, full, low, baseline=True), None)
    by_skimage, by_formula = [], []
    for i in range(len(full)):
        t, p = full[i, 0].numpy(), low[i, 0].numpy()
        by_skimage.append(structural_similarity(t, p, data_range=t.max(), win_size=7))
        by_formula.append(reference_ssim_map(t, p, t.max())[3:-3, 3:-3].mean())
    assert 0.3 < ssim.value < 0.99  # a realistic, imperfect score, not a trivial one
    assert ssim.value == pytest.approx(np.mean(by_skimage), abs=1e-6)
    assert ssim.value == pytest.approx(np.mean(by_formula), abs=1e-6)


def test_masked_ssim_matches_synthrad_where_the_body_reaches_the_edge(lowdose_slices) -> None:
    low, full, body = lowdose_slices
    body = body.clone()
    body[:, :, :, :2] = True  # the body touches the left edge: border handling counts
    ssim = SSIM().compute(inputs_for(SYNTHRAD, low, full, low, body=body), None)
    expected = []
    for i in range(len(full)):
        mask = body[i, 0].numpy()
        t, p = full[i, 0].numpy() * mask, low[i, 0].numpy() * mask
        expected.append(reference_ssim_map(t, p, 1.0)[mask].mean())
    assert ssim.value == pytest.approx(np.mean(expected), abs=1e-6)


def test_an_all_zero_target_is_undefined_not_a_number() -> None:
    source, target, predicted = pairs(5)
    target[0] = 0.0
    inputs = inputs_for(FASTMRI, source, target, predicted, baseline=True)
    for metric in (PSNR(), SSIM(), NMSE()):
        score = metric.compute(inputs, None)
        assert score.n_samples == {"test": len(target) - 1}
        assert score.details["undefined_images"] == 1
        assert "all zero" in score.details["undefined_when"]
        assert np.isfinite(score.value) and np.isfinite(score.details["input"])
        if metric.name == "psnr":
            assert score.value > 0  # not -135 dB from a clamped data range
    target[:] = 0.0
    inputs = inputs_for(FASTMRI, source, target, predicted)
    for metric in (PSNR(), SSIM(), NMSE()):
        with pytest.raises(MetricUnavailable, match="undefined on every test image"):
            metric.compute(inputs, None)
