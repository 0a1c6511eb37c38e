"""Which images a study shows, in which order, and the key that says which are real.

Real images come from the runs' shared comparison set (the test split for synthesis);
synthetic ones are split evenly across the runs. Which images are drawn is seeded
(`--seed`), so a study can be rebuilt; the ids and the showing order come from the
operating system's random source, so nothing in the page (an id, a position) can be worked
back to the key. Every image is encoded the same way (8-bit PNG, no metadata), whatever its
source.
"""

from __future__ import annotations

import base64
import io
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from PIL import Image

from medbench.api.errors import ConfigError
from medbench.api.seeding import derived_generator

KEY_FORMAT = "medbench-reader-study-key/1"
ID_BYTES = 8
MIN_PER_SIDE = 2  # real images, and synthetic images per run: a bootstrap needs two


@dataclass(frozen=True)
class StudyRun:
    """One run whose images are studied, and what the key says of it."""

    run_id: str
    folder: str
    method: str
    task: str
    dataset: str
    dataset_version: str
    image_size: int
    seed: int
    budget: str
    generated: torch.Tensor  # (n, C, H, W) in [0, 1]
    real: torch.Tensor  # (N, C, H, W) in [0, 1]: the comparison set


@dataclass(frozen=True)
class Study:
    page_images: list[dict[str, Any]]  # what the page holds, in showing order
    key: dict[str, Any]  # what the organiser keeps


def png_base64(image: torch.Tensor) -> str:
    """An image in [0, 1] (C, H, W) as 8-bit PNG, base64: gray or RGB, no metadata."""
    array = np.round(image.clamp(0, 1).numpy() * 255).astype(np.uint8)
    array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", optimize=False)
    return base64.b64encode(out.getvalue()).decode("ascii")


def synthetic_shares(n_synthetic: int, runs: int) -> list[int]:
    """`n_synthetic` split evenly across the runs; the first ones take the remainder."""
    return [n_synthetic // runs + (1 if index < n_synthetic % runs else 0)
            for index in range(runs)]


def study_sizes(n: int, real_fraction: float, runs: int) -> tuple[int, list[int]]:
    """(real images, synthetic images per run); ConfigError when a side is too small."""
    n_real = round(n * real_fraction)
    shares = synthetic_shares(n - n_real, runs)
    if n_real < MIN_PER_SIDE or min(shares) < MIN_PER_SIDE:
        raise ConfigError(f"--n {n} at --real-fraction {real_fraction} gives {n_real} real "
                          f"and as few as {min(shares)} synthetic images per run; each needs "
                          f"at least {MIN_PER_SIDE} for its scores to have intervals")
    return n_real, shares


def check_comparable(runs: list[StudyRun]) -> None:
    """Readers compare every synthetic image with one pool of real ones: the runs must
    share the task, the dataset and the image size."""
    first = runs[0]
    for run in runs[1:]:
        for what in ("task", "dataset", "dataset_version", "image_size"):
            if getattr(run, what) != getattr(first, what):
                raise ConfigError(
                    f"Runs {first.run_id} and {run.run_id} differ in {what.replace('_', ' ')} "
                    f"({getattr(first, what)} vs {getattr(run, what)}); a study compares "
                    f"runs of one task, dataset and image size")
    ids = [run.run_id for run in runs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"Run {next(i for i in ids if ids.count(i) > 1)} is given twice; "
                          f"name each run once")


def compose(runs: list[StudyRun], n: int, real_fraction: float, seed: int,
            title: str) -> Study:
    check_comparable(runs)
    n_real, shares = study_sizes(n, real_fraction, len(runs))
    pool = runs[0].real
    if n_real > len(pool):
        raise ConfigError(f"The study asks for {n_real} real images, but the comparison set "
                          f"has {len(pool)}; lower --n or --real-fraction")
    chosen_real = torch.randperm(len(pool), generator=derived_generator(
        seed, "reader-study/real"))[:n_real].sort().values
    entries: list[tuple[torch.Tensor, dict[str, Any]]] = [
        (pool[int(i)], {"truth": "real", "run": None, "index": int(i)}) for i in chosen_real]
    for run, share in zip(runs, shares, strict=True):
        if share > len(run.generated):
            raise ConfigError(f"Run {run.run_id} gave {len(run.generated)} images, fewer than "
                              f"its share of {share}")
        entries += [(run.generated[i], {"truth": "synthetic", "run": run.run_id, "index": i})
                    for i in range(share)]
    system = random.SystemRandom()
    system.shuffle(entries)
    page_images, key_images = [], []
    used: set[str] = set()
    for image, truth in entries:
        image_id = secrets.token_hex(ID_BYTES)
        while image_id in used:
            image_id = secrets.token_hex(ID_BYTES)
        used.add(image_id)
        page_images.append({"id": image_id, "png": png_base64(image),
                            "width": int(image.shape[-1]), "height": int(image.shape[-2])})
        key_images.append({"id": image_id, **truth})
    study_id = secrets.token_hex(16)
    key = {
        "format": KEY_FORMAT, "study": study_id, "title": title,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "n": n, "real": n_real, "synthetic": n - n_real, "real_fraction": real_fraction,
        "seed": seed,
        "runs": [{"run_id": run.run_id, "folder": run.folder, "method": run.method,
                  "task": run.task, "dataset": run.dataset, "budget": run.budget,
                  "image_size": run.image_size, "seed": run.seed, "images": share}
                 for run, share in zip(runs, shares, strict=True)],
        "images": key_images,
    }
    return Study(page_images, key)
