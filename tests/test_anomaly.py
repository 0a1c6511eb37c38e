"""Abnormality detection: the metrics against scikit-learn on raw scores of any scale, the
normal-only training filter, tiny runs of every method, AnoGAN's batched latent search, and
broken scores failing the run clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from scipy.ndimage import binary_dilation
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score, roc_curve

from medbench.api import (
    AnomalyInputs,
    AnomalyMethod,
    DataInfo,
    EvalContext,
    Field,
    MetricUnavailable,
    Split,
    hookimpl,
)
from medbench.cli import app
from medbench.datasets.retina_lesions.dataset import render_chunk as retina_lesions_chunk
from medbench.metrics import anomaly as metrics
from medbench.plugins.anomaly.anogan import AnoGAN, AnoGANConfig
from medbench.tasks import anomaly as anomaly_task

from support import TinyPairsPlugin, TinyPhantom

SMALL = ["--set", "width=4", "--set", "batch_size=8"]


def inputs(seed: int, n: int = 60, size: int = 8, scale: float = 1.0, offset: float = 0.0,
           maps: bool = True, lesions: bool = True) -> AnomalyInputs:
    """Scores that separate the kinds partly, rounded so that ties occur; maps likewise."""
    generator = torch.Generator().manual_seed(seed)
    abnormal = torch.arange(n) % 5 >= 2  # 40 % normal, as on the phantom
    scores = torch.randn(n, generator=generator, dtype=torch.float64) + abnormal.double()
    scores = torch.round(scores * 4) / 4 * scale + offset
    truth = torch.zeros(n, size, size, dtype=torch.bool)
    for i in torch.nonzero(abnormal).flatten().tolist():
        y, x = torch.randint(0, size - 3, (2,), generator=generator).tolist()
        truth[i, y : y + 3, x : x + 3] = True
    anomaly_maps = torch.rand(n, size, size, generator=generator) + truth.float() * 0.6
    anomaly_maps = torch.round(anomaly_maps * 20) / 20 * scale + offset
    kinds = tuple("normal" if not a else ("cyst", "metastasis", "hemangioma")[i % 3]
                  for i, a in enumerate(abnormal.tolist()))
    context = EvalContext(torch.device("cpu"), 0, n, DataInfo(size, {}), {}, None)  # type: ignore[arg-type]
    return AnomalyInputs(scores, abnormal, kinds, anomaly_maps.float() if maps else None,
                         truth if lesions else None, 1.5, context)


def compute(name: str, data: AnomalyInputs):
    metric = {"image_auroc": metrics.ImageAUROC, "image_auprc": metrics.ImageAUPRC,
              "sensitivity_at_95_specificity": metrics.SensitivityAtSpecificity,
              "pixel_auroc": metrics.PixelAUROC,
              "pixel_best_dice": metrics.PixelBestDice}[name]()
    return metric.compute(data, None)


# Raw scores far outside [0, 1]: torchmetrics would squash them through a sigmoid into ties.
SCALES = [(1.0, 0.0), (1000.0, 500.0), (0.001, 50.0)]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("scale,offset", SCALES)
def test_image_metrics_match_scikit_learn_on_raw_scores(seed: int, scale: float,
                                                        offset: float) -> None:
    data = inputs(seed, scale=scale, offset=offset)
    y, s = data.abnormal.numpy(), data.scores.numpy()
    assert compute("image_auroc", data).value == pytest.approx(roc_auc_score(y, s), abs=1e-6)
    auprc = compute("image_auprc", data)
    assert auprc.value == pytest.approx(average_precision_score(y, s), abs=1e-6)
    assert auprc.details["chance"] == pytest.approx(y.mean())
    fpr, tpr, _ = roc_curve(y, s)
    sensitivity = compute("sensitivity_at_95_specificity", data)
    assert sensitivity.value == pytest.approx(tpr[fpr <= 0.05].max(), abs=1e-6)
    # The threshold is in raw units, and it does what the value says.
    flagged = s >= sensitivity.details["threshold"]
    assert flagged[y].mean() == pytest.approx(sensitivity.value, abs=1e-6)
    assert 1 - flagged[~y].mean() >= 0.95


def test_image_auroc_per_kind_is_each_finding_against_the_normal_images() -> None:
    data = inputs(3)
    details = compute("image_auroc", data).details
    kinds = np.array(data.kinds)
    for kind in ("cyst", "metastasis", "hemangioma"):
        keep = (kinds == "normal") | (kinds == kind)
        expected = roc_auc_score(data.abnormal.numpy()[keep], data.scores.numpy()[keep])
        assert details["per_kind"][kind] == pytest.approx(expected, abs=1e-6)
    assert (details["normal"], details["abnormal"]) == (24, 36)
    assert details["score_seconds_per_image"] == pytest.approx(1.5 / 60)


@pytest.mark.parametrize("scale,offset", SCALES)
def test_pixel_metrics_match_scikit_learn_on_raw_maps(scale: float, offset: float) -> None:
    data = inputs(4, scale=scale, offset=offset)
    truth, maps = data.lesions.flatten().numpy(), data.maps.flatten().double().numpy()
    assert compute("pixel_auroc", data).value == pytest.approx(roc_auc_score(truth, maps),
                                                               abs=1e-6)
    dice = compute("pixel_best_dice", data)
    # Brute force: Dice of the map thresholded at every value it takes.
    best = max(f1_score(truth, maps >= t) for t in np.unique(maps))
    assert dice.value == pytest.approx(best, abs=1e-5)
    at_threshold = f1_score(truth, maps >= dice.details["threshold"])
    assert at_threshold == pytest.approx(dice.value, abs=1e-5)


def test_a_sigmoid_would_have_tied_large_scores_but_ranks_do_not() -> None:
    data = inputs(5, scale=10.0, offset=100.0)  # every score above 37: sigmoid gives 1.0
    expected = roc_auc_score(data.abnormal.numpy(), data.scores.numpy())
    assert expected > 0.6
    assert compute("image_auroc", data).value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("change,reason", [
    ({"maps": False}, "the method gives image scores only, no anomaly maps"),
    ({"lesions": False}, "the dataset marks no lesion pixels"),
])
def test_pixel_metrics_say_why_they_are_unavailable(change: dict, reason: str) -> None:
    for name in ("pixel_auroc", "pixel_best_dice"):
        with pytest.raises(MetricUnavailable, match=reason):
            compute(name, inputs(0, **change))


def test_one_kind_of_test_image_is_unavailable_not_a_number() -> None:
    data = inputs(0)
    data.abnormal = torch.zeros_like(data.abnormal)
    with pytest.raises(MetricUnavailable, match="every test image is normal"):
        compute("image_auroc", data)


def run(runner, host, tmp_path: Path, method: str, *extra: str):
    out = tmp_path / "runs"
    args = ["run", "--method", method, "--task", "anomaly", "--dataset", "tiny-phantom",
            "--budget", "tiny", "--out", str(out), "--device", "cpu", *extra]
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    records = sorted(out.glob("*/record.json"))
    return result, (json.loads(records[-1].read_text()) if records else None)


class NormalOnly(AnomalyMethod):
    """Fails the run if any abnormal image, label or mask reaches it."""

    name: ClassVar[str] = "normal-only"
    summary: ClassVar[str] = "asserts that it is trained on normal images only"
    abnormal_images: ClassVar[torch.Tensor]
    seen: ClassVar[dict[str, int]] = {}

    def fit(self, train, val, context) -> None:
        for split in (train, val):
            assert split.fields == ("image",), split.fields
            for image in split["image"]:
                assert not (self.abnormal_images == image).flatten(1).all(1).any(), \
                    "an abnormal image reached fit"
        assert set(self.data.fields) == {"image"}
        NormalOnly.seen.update(train=len(train), val=len(val))
        context.count_images(len(train))

    def score(self, images):
        NormalOnly.seen["test"] = NormalOnly.seen.get("test", 0) + len(images)
        return images.mean(dim=(1, 2, 3)), None


def test_no_abnormal_image_label_or_mask_reaches_training(runner, make_tiny_host,
                                                          tmp_path: Path) -> None:
    built = TinyPhantom().build(tmp_path)
    field = TinyPhantom.fields[0]  # the image, converted as the harness converts it

    def images(split: str, abnormal_only: bool = True) -> torch.Tensor:
        arrays = built[split]
        keep = arrays["label"] != 0 if abnormal_only else slice(None)
        return field.to_unit(torch.from_numpy(arrays["image"][keep]).unsqueeze(1))

    NormalOnly.abnormal_images = torch.cat([images("train"), images("val")])
    NormalOnly.seen = {}

    class Plugin:
        @hookimpl
        def register_methods(self, register):
            register(NormalOnly)

    result, record = run(runner, make_tiny_host(Plugin()), tmp_path, "normal-only")
    assert result.exit_code == 0, result.output
    assert NormalOnly.seen == {"train": 16, "val": 12, "test": 40}
    # The sentinel itself can fail: the same check on a mixed split raises.
    with pytest.raises(AssertionError, match="abnormal image reached fit"):
        mixed = images("train", abnormal_only=False)
        info = DataInfo(32, {"image": field})
        NormalOnly(None, info, torch.device("cpu")).fit(
            Split("train", {"image": mixed}, info), Split("val", {"image": mixed[:0]}, info),
            None)  # type: ignore[arg-type]


def test_anogan_searches_a_batch_as_it_searches_each_image() -> None:
    torch.manual_seed(0)
    info = DataInfo(16, {"image": Field("image", "image", "uint8")})
    method = AnoGAN(AnoGANConfig(width=4, latent_dim=8, search_steps=5), info,
                    torch.device("cpu"))
    images, codes = torch.rand(4, 1, 16, 16), torch.randn(4, 8)
    together, maps = method.search(images, codes)
    alone = torch.cat([method.search(images[i : i + 1], codes[i : i + 1])[0] for i in range(4)])
    assert torch.allclose(together, alone, atol=1e-5)
    assert maps.shape == (4, 1, 16, 16)
    assert all(p.requires_grad for p in method.generator.parameters())  # restored


class Broken(AnomalyMethod):
    name: ClassVar[str] = "broken"
    summary: ClassVar[str] = "returns broken scores on purpose"
    output: ClassVar[str] = "nan"
    calls: ClassVar[int] = 0

    def fit(self, train, val, context) -> None:
        context.count_images(len(train))

    def score(self, images):
        n, size = len(images), images.shape[-1]
        if self.output == "nan":
            return torch.full((n,), float("nan")), None
        if self.output == "shape":
            return torch.zeros(n, 1), None
        if self.output == "maps":
            return torch.zeros(n), torch.zeros(n, size, size)
        if self.output == "single":
            return torch.zeros(n)
        if self.output == "sometimes-maps":
            Broken.calls += 1
            return torch.zeros(n), (torch.zeros(n, 1, size, size) if Broken.calls == 1 else None)
        return torch.zeros(n, dtype=torch.long), None


@pytest.mark.parametrize("kind, fragment", [
    ("nan", "returned non-finite anomaly scores"),
    ("shape", "anomaly scores of shape (16, 1), expected (16,)"),
    ("maps", "anomaly maps of shape (16, 32, 32), expected (16, 1, 32, 32)"),
    ("single", "returned Tensor from score(), expected a pair (scores, maps or None)"),
    ("dtype", "anomaly scores of dtype torch.int64, expected floats"),
    ("sometimes-maps", "anomaly maps for some chunks and None for others"),
])
def test_broken_scores_fail_the_run_clearly(runner, make_tiny_host, tmp_path: Path, kind: str,
                                            fragment: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(anomaly_task, "SCORE_CHUNK", 16)  # several chunks from 40 images
    Broken.calls = 0
    method = type(f"Broken{kind}", (Broken,), {"name": f"broken-{kind}", "output": kind})

    class Plugin:
        @hookimpl
        def register_methods(self, register):
            register(method)

    result, record = run(runner, make_tiny_host(Plugin()), tmp_path, method.name)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert record["status"]["state"] == "failed"
    assert fragment in record["status"]["reason"]


def test_retina_findings_are_marked_where_they_are_painted() -> None:
    arrays = retina_lesions_chunk(range(40), np.random.SeedSequence(3))
    labels, masks, images = arrays["label"], arrays["mask"].astype(bool), arrays["image"]
    assert np.bincount(labels, minlength=3).tolist() == [20, 10, 10]
    assert not masks[labels == 0].any()
    assert all(masks[i].any() for i in np.nonzero(labels)[0])
    for i in np.nonzero(labels)[0]:
        inside = images[i][:, masks[i]].astype(float).mean(axis=1)  # mean RGB of the lesion
        ring = binary_dilation(masks[i], iterations=2) & ~masks[i]
        around = images[i][:, ring].astype(float).mean(axis=1)
        if labels[i] == 1:  # haemorrhage: darker than the retina around it
            assert inside[1] < around[1], (i, inside, around)
        else:  # exudates: brighter
            assert inside[1] > around[1], (i, inside, around)


def test_anomaly_runs_on_the_retina_findings(runner, make_host, tmp_path: Path) -> None:
    result, record = run(runner, make_host(TinyPairsPlugin()), tmp_path, "autoencoder", *SMALL,
                         "--dataset", "tiny-retina-lesions")
    assert result.exit_code == 0, result.output
    assert record["training"]["fit_data"]["train"]["size"] == 12  # the normal half of 24
    assert record["metrics"]["pixel_best_dice"]["status"] == "ok"
    assert set(record["metrics"]["image_auroc"]["details"]["per_kind"]) == {"haemorrhage",
                                                                           "exudates"}


def test_no_threshold_is_reported_when_none_reaches_the_specificity() -> None:
    data = inputs(6)
    data.scores = torch.where(data.abnormal, 0.0, 1.0).double()  # every normal image above
    score = compute("sensitivity_at_95_specificity", data)
    assert score.value == 0.0 and score.details["threshold"] is None
    assert compute("image_auroc", data).value == pytest.approx(0.0)
