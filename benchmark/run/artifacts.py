"""Files a run leaves behind: the run folder, sample grid, checkpoint and loss log."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torchvision.utils import save_image

from medbench.api.errors import OutputError
from medbench.api.storage import atomic_write

CHECKPOINT = "checkpoint.pt"
SAMPLES = "samples.png"
LOSSES = "losses.csv"
ERROR_LOG = "error.log"


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
