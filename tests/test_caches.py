"""Caches that were edited, cut short or broken are noticed and rebuilt, never trusted:
the numbers after a repair are the clean ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from medbench.api import SplitManifest, hookimpl
from medbench.api.progress import SilentProgress
from medbench.api.storage import tensor_sha256
from medbench.api.synthesis import GeneratedImages
from medbench.api.task import EvalContext
from medbench.cli import app
from medbench.metrics.features.random_cnn import RandomCNNExtractor
from medbench.run.feature_cache import ReferenceFeatureCache

from support import TinyCachedPhantom, TinyPhantom


def last_record(out: Path) -> dict:
    return json.loads(sorted(out.glob("*/record.json"))[-1].read_text())


def tamper_entry(path: Path, how: str) -> None:
    entry = torch.load(path, weights_only=True)
    features = entry["features"]
    if how == "edited":  # values changed, checksum left as it was
        entry["features"] = features + 0.5
    elif how == "cut-consistently":  # 10 rows, with a matching checksum and row count
        entry["features"] = features[:10].clone()
        entry["rows"], entry["sha256"] = 10, tensor_sha256(entry["features"])
    elif how == "old-format":
        entry = features
    if how == "truncated-file":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return
    torch.save(entry, path)


@pytest.mark.parametrize("how,why", [
    ("edited", "failed its checksum"),
    ("cut-consistently", "holds 10 rows, expected 48"),
    ("old-format", "has an unknown format"),
    ("truncated-file", "could not be read"),
])
def test_a_tampered_feature_cache_is_recomputed(runner, host, tiny_args, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, how: str,
                                                why: str) -> None:
    monkeypatch.setenv("MEDBENCH_CACHE", str(tmp_path / "cache"))
    args = tiny_args("holdout", "--metrics", "fd_randcnn,kid_randcnn")
    result = runner.invoke(app, args, obj=host)
    assert result.exit_code == 0, result.output
    clean = last_record(tmp_path / "runs")["metrics"]
    [entry] = (tmp_path / "cache" / "reference-features").rglob("*.pt")
    tamper_entry(entry, how)

    result = runner.invoke(app, args, obj=host, terminal_width=400)
    assert result.exit_code == 0, result.output
    notice = [line for line in result.output.splitlines() if "recomputed them" in line]
    assert len(notice) == 1 and why in notice[0], result.output
    again = last_record(tmp_path / "runs")["metrics"]
    for name in ("fd_randcnn", "kid_randcnn"):
        assert again[name]["value"] == clean[name]["value"]
        assert again[name]["n_samples"]["real"] == 48
    # Repaired: the third run reads the cache without a notice.
    result = runner.invoke(app, args, obj=host)
    assert "recomputed" not in result.output


def break_npz(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif how == "pickled":
        np.savez(path, image=np.array([object()], dtype=object))
    elif how == "other-content":  # loads fine, but is not this split
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        arrays["image"] = arrays["image"][::-1].copy()
        np.savez(path, **arrays)
    elif how == "old-layout":  # field names of an earlier medbench
        with np.load(path) as stored:
            np.savez(path, images=stored["image"], labels=stored["label"],
                     masks=stored["mask"])


class CachedPhantomPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(TinyCachedPhantom())


@pytest.mark.parametrize("how", ["truncated", "pickled", "other-content", "old-layout"])
def test_a_broken_dataset_cache_is_rebuilt_once(runner, make_tiny_host, tiny_args,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                how: str) -> None:
    from medbench.run.data import dataset_cache

    dataset = TinyCachedPhantom()
    source = dataset_cache(dataset, tmp_path / "clean" / "datasets")
    dataset.build(source)  # cached as every real dataset is: one .npz per split
    cache = tmp_path / "cache"
    folder = dataset_cache(dataset, cache / "datasets")
    shutil.copytree(source, folder)
    break_npz(folder / "val.npz", how)
    monkeypatch.setenv("MEDBENCH_CACHE", str(cache))

    args = tiny_args("gaussian", "--dataset", dataset.name, "--metrics", "fd_randcnn")
    result = runner.invoke(app, args, obj=make_tiny_host(CachedPhantomPlugin()),
                           terminal_width=400)
    assert result.exit_code == 0, result.output
    notice = [line for line in result.output.splitlines() if "rebuilt it from the definition"
              in line]
    assert len(notice) == 1 and str(folder) in notice[0], result.output
    record = last_record(tmp_path / "runs")
    manifest = dataset.manifest()
    assert all(record["dataset"]["splits"][s]["sha256"] == manifest[s].sha256
               for s in ("train", "val", "test"))
    for split in ("train", "val", "test"):  # the repaired cache is the clean one
        assert (folder / f"{split}.npz").read_bytes() == (source / f"{split}.npz").read_bytes()


class WronglyPinned(TinyPhantom):
    """Builds fine, but its manifest pins other content: no rebuild can fix that."""

    name: ClassVar[str] = "wrongly-pinned"

    def manifest(self) -> dict[str, SplitManifest]:
        pinned = super().manifest()
        pinned["test"] = SplitManifest(pinned["test"].size, "0" * 64, {})
        return pinned


class WronglyPinnedPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(WronglyPinned())


def test_data_that_still_disagrees_after_a_rebuild_is_an_error(runner, make_host,
                                                               tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--method", "gaussian", "--task", "synthesis",
                                 "--dataset", "wrongly-pinned", "--budget", "tiny",
                                 "--out", str(tmp_path / "runs")],
                           obj=make_host(WronglyPinnedPlugin()))
    assert result.exit_code == 1
    record = last_record(tmp_path / "runs")
    assert record["status"]["state"] == "failed"
    assert "split 'test' does not match its manifest" in record["status"]["reason"]


def test_reference_features_are_keyed_by_the_images_not_by_what_a_task_says(
        tmp_path: Path) -> None:
    """A task that names every real set "image" once reused 32 px features for a 64 px run
    (fd 21.05 for 1.233, status ok). The key is now the images' content."""
    cache = ReferenceFeatureCache(tmp_path)
    context = EvalContext(torch.device("cpu"), 0, 8, None, {}, cache)  # type: ignore[arg-type]
    extractor = RandomCNNExtractor()
    generator = torch.Generator().manual_seed(0)
    small = torch.rand(8, 1, 32, 32, generator=generator)
    large = torch.nn.functional.interpolate(small, size=64, mode="bilinear")
    first = GeneratedImages(small, small, "image", context).features(extractor)[0]
    second = GeneratedImages(large, large, "image", context).features(extractor)[0]
    with SilentProgress().bar("features", len(large)) as bar:
        assert torch.equal(second, extractor.extract(large, torch.device("cpu"), bar))
    assert not torch.equal(first, second)
    again = GeneratedImages(small.clone(), small, "other", context).features(extractor)[0]
    assert torch.equal(again, first) and len(list(tmp_path.rglob("*.pt"))) == 2
