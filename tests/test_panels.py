"""The fixed-case panels every run keeps in its record: what each task shows, on which
cases, and as what PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from medbench.api import Panel
from medbench.run.artifacts import MAX_PANEL_BYTES, panel_png
from medbench.tasks.anomaly import anomaly_panel
from medbench.tasks.samples import contour, contour_overlay, synthesis_panel


def decoded(panel: Panel) -> np.ndarray:
    png = panel_png(panel)
    return np.asarray(Image.open(io.BytesIO(png.data)))


def test_a_synthesis_panel_has_a_row_per_class_in_class_order() -> None:
    images = torch.stack([torch.full((1, 8, 8), value / 10) for value in range(10)])
    labels = torch.tensor([2, 0, 2, 1, 0, 2, 2, 2, 2, 2])
    panel = synthesis_panel(images, labels, ("normal", "cyst", "metastasis"))
    assert panel.columns == 8 and len(panel.images) == 3 * 8
    assert "normal, cyst, metastasis" in panel.caption
    # normal: the images labelled 0 (values 0.1, 0.4), then blanks (white)
    row = panel.images[:8, 0, 0, 0].tolist()
    assert row[:2] == pytest.approx([0.1, 0.4]) and row[2:] == [1.0] * 6
    unconditional = synthesis_panel(images, None, ("normal",))
    assert unconditional.columns == 8 and "first 10 generated images" in unconditional.caption


def test_contours_are_the_region_borders_true_green_predicted_red_both_yellow() -> None:
    region = torch.zeros(8, 8, dtype=torch.bool)
    region[2:6, 2:6] = True
    border = contour(region)
    assert border.sum() == 12 and not border[3:5, 3:5].any()  # a 4x4 square's ring
    truth = region.long()
    predicted = torch.zeros(8, 8, dtype=torch.long)
    predicted[2:6, 2:4] = 1  # the left half
    image = torch.full((1, 8, 8), 0.5)
    out = contour_overlay(image, predicted, truth, classes=1)
    assert out[:, 0, 0].tolist() == [0.5, 0.5, 0.5]  # untouched grey
    assert out[:, 2, 5].tolist() == pytest.approx([0.1, 0.9, 0.1])  # true border only
    assert out[:, 3, 3].tolist() == pytest.approx([1.0, 0.15, 0.15])  # predicted only
    assert out[:, 2, 2].tolist() == pytest.approx([1.0, 0.95, 0.1])  # both


def test_an_anomaly_panel_shows_the_first_normal_and_the_first_abnormal_cases() -> None:
    images = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1, 1).expand(10, 1, 4, 4) / 10
    labels = torch.tensor([1, 0, 0, 2, 0, 1, 0, 0, 1, 1])  # 0: normal
    maps = torch.rand(10, 4, 4)
    panel = anomaly_panel(images, labels, 0, maps, None)
    assert panel.columns == 3 and len(panel.images) == 6 * 3
    shown = panel.images[::3, 0, 0, 0].tolist()  # the image column
    assert shown == pytest.approx([0.1, 0.2, 0.4, 0.0, 0.3, 0.5])
    assert "first 3 normal, then the first 3 abnormal" in panel.caption


def test_panels_are_small_8_bit_pngs_grey_or_colour_and_enlarged_to_64_px() -> None:
    grey = Panel(torch.rand(6, 3, 32, 32).mean(dim=1, keepdim=True).expand(6, 3, 32, 32),
                 3, "grey")
    array = decoded(grey)
    assert array.dtype == np.uint8 and array.ndim == 2  # one channel: every image is grey
    assert array.shape == (2 * 64 + 3, 3 * 64 + 4)  # 2x, one white pixel between images
    colour = decoded(Panel(torch.rand(2, 3, 64, 64), 2, "colour"))
    assert colour.shape == (66, 131, 3)
    noise = Panel(torch.rand(64, 3, 64, 64), 8, "too big")
    with pytest.raises(Exception, match="keep it under"):
        panel_png(noise)
    assert MAX_PANEL_BYTES == 256 * 1024


def test_a_panel_that_cannot_be_kept_costs_the_run_nothing_but_the_panel(
        runner, host, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from medbench.api.errors import PluginError
    from medbench.cli import app
    from medbench.run import artifacts

    def too_big(panel: Panel) -> None:
        raise PluginError("a task's panel is 900 KiB as PNG; keep it under 256 KiB")

    monkeypatch.setattr(artifacts, "panel_png", too_big)
    result = runner.invoke(app, ["run", "--method", "gaussian", "--task", "synthesis",
                                 "--dataset", "tiny-phantom", "--budget", "tiny", "--out",
                                 str(tmp_path / "runs")], obj=host)
    assert result.exit_code == 0, result.output
    assert "No panel kept: a task's panel is 900 KiB" in result.output
    [record] = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert record["status"]["state"] == "ok" and record["images"] == {}
    assert record["metrics"]["fd_randcnn"]["status"] == "ok"
