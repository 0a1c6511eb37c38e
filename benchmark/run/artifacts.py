"""Files a run leaves behind: the run folder, sample grid, fixed-case panel, checkpoint
and loss log; and the small forms of the panel and loss log that its record carries."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torchvision.utils import make_grid, save_image

from medbench.api.errors import OutputError, PluginError
from medbench.api.storage import atomic_write
from medbench.api.task import Panel

CHECKPOINT = "checkpoint.pt"
SAMPLES = "samples.png"
PANEL = "panel.png"
LOSSES = "losses.csv"
ERROR_LOG = "error.log"
MAX_PANEL_BYTES = 256 * 1024  # per record; the reference set's ~150 panels stay a few MB
PANEL_MIN_SIZE = 64  # smaller images are enlarged (nearest neighbour, whole multiples)
LOSS_CURVE_POINTS = 100


def make_run_folder(out_dir: Path, run_id: str) -> Path:
    """Create the run folder up front, so an unwritable --out fails before any training."""
    folder = out_dir / run_id
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        suffix = 1
        while True:
            try:
                folder.mkdir()
                break
            except FileExistsError:  # two runs started in the same second
                suffix += 1
                folder = out_dir / f"{run_id}-{suffix}"
        probe = folder / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"Cannot write the run folder {folder}: {exc.strerror or exc}. "
            f"Pass --out with a writable directory."
        ) from None
    return folder


def save_checkpoint(folder: Path, state: dict[str, Any]) -> str:
    with atomic_write(folder / CHECKPOINT) as out:
        torch.save(state, out)
    return CHECKPOINT


def save_sample_grid(folder: Path, images: torch.Tensor, max_images: int = 64) -> str:
    images = images[:max_images].detach().float().cpu().clamp(0, 1)
    with atomic_write(folder / SAMPLES) as out:
        save_image(images, out, format="png",
                   nrow=int(math.ceil(math.sqrt(len(images)))), padding=2)
    return SAMPLES


def save_losses(folder: Path, rows: list[dict[str, float]]) -> str | None:
    if not rows:
        return None
    with atomic_write(folder / LOSSES, "w", encoding="utf-8") as out:
        pd.DataFrame(rows).to_csv(out, index=False)
    return LOSSES


def save_error_log(folder: Path, text: str) -> str:
    with atomic_write(folder / ERROR_LOG, "w", encoding="utf-8") as out:
        out.write(text)
    return ERROR_LOG


@dataclass(frozen=True)
class PanelPNG:
    data: bytes
    width: int
    height: int

    def describe(self, caption: str) -> dict[str, Any]:
        """The record's form: base64 PNG and what it shows."""
        return {"png_base64": base64.b64encode(self.data).decode("ascii"),
                "caption": caption, "width": self.width, "height": self.height}


def panel_png(panel: Panel) -> PanelPNG:
    """The panel as an 8-bit PNG (grey when every image is grey), one pixel between images."""
    images = panel.images.detach().float().cpu().clamp(0, 1)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or panel.columns < 1:
        raise PluginError(f"a task's panel must be (N, 1 or 3, H, W) images in columns >= 1, "
                          f"got shape {tuple(images.shape)} in {panel.columns} columns")
    scale = max(1, PANEL_MIN_SIZE // images.shape[-1])
    if scale > 1:  # 32 px is too small to see on a page; every pixel stays a square
        images = images.repeat_interleave(scale, dim=-1).repeat_interleave(scale, dim=-2)
    grid = make_grid(images, nrow=panel.columns, padding=1, pad_value=1.0)
    pixels = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    grey = bool(np.all(pixels[..., :1] == pixels))
    picture = Image.fromarray(pixels[..., 0] if grey else pixels, "L" if grey else "RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="png", optimize=True)
    data = buffer.getvalue()
    if len(data) > MAX_PANEL_BYTES:
        raise PluginError(f"a task's panel is {len(data) // 1024} KiB as PNG; keep it under "
                          f"{MAX_PANEL_BYTES // 1024} KiB (fewer cases, the run's image size)")
    return PanelPNG(data, picture.width, picture.height)


def save_png(folder: Path, name: str, data: bytes) -> str:
    with atomic_write(folder / name) as out:
        out.write(data)
    return name


def thin_losses(rows: list[dict[str, float]],
                points: int = LOSS_CURVE_POINTS) -> dict[str, list[float]]:
    """The loss log as at most `points` means of consecutive steps, per column."""
    if not rows:
        return {}
    table = pd.DataFrame(rows).select_dtypes("number")
    groups = np.arange(len(table)) * min(points, len(table)) // len(table)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[starts, len(table)])
    values = table.to_numpy(dtype=float)
    # reduceat's sums carry a NaN through, where pandas' means would skip it: a mean over
    # steps that diverged stays NaN (None in JSON).
    means = np.add.reduceat(values, starts, axis=0) / counts[:, None]
    return {name: [round(float(v), 6) if math.isfinite(v) else None for v in means[:, index]]
            for index, name in enumerate(table.columns)}
