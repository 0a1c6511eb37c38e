"""Test data and helpers shared by the test modules (importable: pytest puts tests/ on the path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from medbench.api import (
    SPLITS,
    DatasetSpec,
    Field,
    SplitArrays,
    SplitManifest,
    SynthesisMethod,
    cached_splits,
    hookimpl,
)
from medbench.datasets.brain_mrct.dataset import BrainMRCT
from medbench.datasets.brain_mrct.dataset import render_chunk as brain_chunk
from medbench.datasets.brain_mrct.template import load_template
from medbench.datasets.components.abdomen import render
from medbench.datasets.lowdose_ct.dataset import LowDoseCT
from medbench.datasets.lowdose_ct.dataset import render_chunk as lowdose_chunk
from medbench.datasets.phantom.dataset import AbdominalPhantom
from medbench.datasets.phantom_lesions.dataset import PhantomLesions
from medbench.datasets.phantom_lesions.dataset import render_chunk as phantom_lesions_chunk
from medbench.datasets.retina.dataset import Retina
from medbench.datasets.retina.dataset import render_chunk as retina_chunk
from medbench.datasets.retina_lesions.dataset import RetinaLesions
from medbench.datasets.retina_lesions.dataset import render_chunk as retina_lesions_chunk
from medbench.run.budgets import Budget

TINY_SIZES = {"train": 64, "val": 48, "test": 48}


class TinyPhantom(DatasetSpec):
    """A few phantom slices, so that a whole run takes seconds in tests."""

    name: ClassVar[str] = "tiny-phantom"
    version: ClassVar[str] = "test"
    summary: ClassVar[str] = "a handful of phantom slices for tests"
    modality: ClassVar[str] = "CT (simulated)"
    native_size: ClassVar[int] = 32
    fields: ClassVar[tuple[Field, ...]] = AbdominalPhantom.fields
    normal_class: ClassVar[str | None] = "normal"
    synthetic: ClassVar[bool] = True

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        out = {}
        for index, split in enumerate(SPLITS):
            labels = np.arange(TINY_SIZES[split]) % len(self.class_names)
            batch = render(labels, 32, np.random.default_rng(100 + index))
            out[split] = SplitArrays({"image": batch.image, "label": batch.label,
                                      "mask": batch.mask})
        return out

    def manifest(self) -> dict[str, SplitManifest]:
        return computed_manifest(self)

    def card(self) -> str:
        return "# tiny-phantom\nTest data."


class TinyCachedPhantom(TinyPhantom):
    """The tiny phantom kept in a cache folder the way real datasets are (`cached_splits`),
    for the tests of a damaged dataset cache: rebuilding it takes no time."""

    name: ClassVar[str] = "tiny-cached-phantom"

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return cached_splits(cache_dir, lambda split: TinyPhantom.build(self, cache_dir)[split])

    def manifest(self) -> dict[str, SplitManifest]:
        built = TinyPhantom.build(self, Path("unused"))
        return {split: SplitManifest(len(a), a.sha256(self.field_names),
                                     {name: a.field_sha256(name) for name in self.field_names})
                for split, a in built.items()}


def computed_manifest(dataset: DatasetSpec) -> dict[str, SplitManifest]:
    """For test datasets: the manifest of what `build` returns, so a run's checks pass."""
    built = dataset.build(Path("unused"))
    return {split: SplitManifest(len(a), a.sha256(dataset.field_names),
                                 {name: a.field_sha256(name) for name in dataset.field_names})
            for split, a in built.items()}


class TinyDatasetPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(TinyPhantom())


# The budget tests run at (conftest registers it; so does `cli_main` in a subprocess).
TINY_BUDGET = Budget("tiny", image_size=32, train_images=256, eval_samples=40,
                     intended_for="tests")
# Long enough (a few seconds) to kill a run at a random point of its training.
TINY_LONG_BUDGET = Budget("tiny-long", image_size=32, train_images=2048, eval_samples=40,
                          intended_for="tests")


class SlowMethod(SynthesisMethod):
    """Sleeps through training ($SLOW_FIT_SECONDS, default a minute): runs that overlap, or
    are killed mid-run, on purpose."""

    name: ClassVar[str] = "slow"
    summary: ClassVar[str] = "sleeps through training"

    def fit(self, train, val, context) -> None:
        time.sleep(float(os.environ.get("SLOW_FIT_SECONDS", "60")))
        context.count_images(len(train))

    def sample(self, n, labels, generator):
        return torch.rand(n, 1, self.data.image_size, self.data.image_size,
                          generator=generator).to(self.device)


class SlowMethodPlugin:
    @hookimpl
    def register_methods(self, register):
        register(SlowMethod)


def cli_main() -> None:
    """`medbench` as `medbench_process` runs it: the tiny dataset and budget and the slow
    method registered, as conftest does in-process."""
    from medbench.cli import app
    from medbench.host.manager import load_host
    from medbench.run import budgets

    budgets.BUDGETS["tiny"] = TINY_BUDGET
    budgets.BUDGETS["tiny-long"] = TINY_LONG_BUDGET
    app(obj=load_host(False, TinyDatasetPlugin(), SlowMethodPlugin()))


def medbench_process(*args: str) -> subprocess.Popen[str]:
    """`medbench ARGS` in its own process (inheriting the test's environment), with what
    `cli_main` registers."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " \
           f"import support; support.cli_main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def random_fid_inception_weights(path: Path) -> None:
    """A random-weight checkpoint with the exact layout of pytorch-fid's FID weights, so
    the real FID code path runs offline."""
    from medbench.metrics.features.inception import fid_inception_skeleton

    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(fid_inception_skeleton().state_dict(), path)


class TinyPairs(DatasetSpec):
    """A few samples of a paired image-to-image dataset, rendered by its own code."""

    sizes: ClassVar[dict[str, int]] = {"train": 24, "val": 8, "test": 12}
    version: ClassVar[str] = "test"
    modality: ClassVar[str] = "test"
    summary: ClassVar[str] = "a few paired samples for tests"
    source: ClassVar[type[DatasetSpec]]

    def render(self, n: int, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        return {split: SplitArrays(self.render(self.sizes[split],
                                               np.random.SeedSequence([7, index])))
                for index, split in enumerate(SPLITS)}

    def manifest(self) -> dict[str, SplitManifest]:
        return computed_manifest(self)

    def card(self) -> str:
        return f"# {self.name}\nTest data."


class TinyBrain(TinyPairs):
    name: ClassVar[str] = "tiny-brain"
    fields = BrainMRCT.fields
    native_size = BrainMRCT.native_size
    pixel_spacing_mm = BrainMRCT.pixel_spacing_mm
    _template: ClassVar[list] = []

    def render(self, n, seed):
        if not self._template:
            self._template.append(load_template())
        return brain_chunk(self._template[0], n, seed)


class TinyLowDose(TinyPairs):
    name: ClassVar[str] = "tiny-lowdose"
    fields = LowDoseCT.fields
    native_size = LowDoseCT.native_size

    def render(self, n, seed):
        return lowdose_chunk(range(n), seed)


class TinyRetina(TinyPairs):
    name: ClassVar[str] = "tiny-retina"
    fields = Retina.fields
    native_size = Retina.native_size

    def render(self, n, seed):
        return retina_chunk(range(n), seed)


class TinyRetinaLesions(TinyPairs):
    name: ClassVar[str] = "tiny-retina-lesions"
    fields = RetinaLesions.fields
    native_size = RetinaLesions.native_size
    normal_class = RetinaLesions.normal_class

    def render(self, n, seed):
        return retina_lesions_chunk(range(n), seed)


class TinyPhantomLesions(TinyPairs):
    name: ClassVar[str] = "tiny-phantom-lesions"
    fields = PhantomLesions.fields
    native_size = PhantomLesions.native_size
    sizes: ClassVar[dict[str, int]] = {"train": 24, "val": 9, "test": 15}

    def render(self, n, seed):
        return phantom_lesions_chunk(range(n), seed)


TINY_PAIRS = {"translation": "tiny-brain", "translation-unpaired": "tiny-brain",
              "reconstruction": "tiny-lowdose", "conditional": "tiny-retina"}


class TinyPairsPlugin:
    @hookimpl
    def register_datasets(self, register):
        for dataset in (TinyBrain(), TinyLowDose(), TinyRetina(), TinyRetinaLesions(),
                        TinyPhantomLesions()):
            register(dataset)


def write_medmnist_npz(path: Path, flag: str, size: int, counts: dict[str, int],
                       seed: int = 0) -> str:
    """A MedMNIST file in the exact official layout (keys, uint8 dtypes, (N, H, W[, 3])
    images, (N, 1) or ChestMNIST's (N, 14) labels), with `counts` samples per split and
    images that differ by class. Returns its MD5 as ``md5:<hex>``."""
    import hashlib

    from medbench.datasets.medmnist.info import medmnist_info

    entry = medmnist_info()[0][flag]
    channels, classes = int(entry["n_channels"]), len(entry["label"])
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    arrays = {}
    for split in SPLITS:
        n = counts[split]
        if flag == "chestmnist":
            labels = (rng.random((n, classes)) < 0.1).astype(np.uint8)
            level = labels.any(axis=1)
        else:
            labels = (np.arange(n) % classes).astype(np.uint8)[:, None]
            level = labels[:, 0] / max(1, classes - 1)
        disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2
        images = 60 + 120 * level[:, None, None] * disc + rng.normal(0, 8, (n, size, size))
        images = images.clip(0, 255).astype(np.uint8)
        if channels == 3:
            images = np.stack([images, images // 2, 255 - images], axis=-1)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return "md5:" + hashlib.md5(path.read_bytes()).hexdigest()


def small_medmnist(flag: str, size: int, counts: dict[str, int], md5: str):
    """The real MedMNIST dataset class over a small file: INFO's row with `counts` and
    `md5` in place of the published ones, so the verified path runs offline."""
    from medbench.datasets.medmnist.dataset import MedMNIST
    from medbench.datasets.medmnist.info import medmnist_info, size_suffix

    entry = dict(medmnist_info()[0][flag])
    entry["n_samples"] = dict(counts)
    entry[f"MD5{size_suffix(size)}"] = md5.removeprefix("md5:")
    dataset = MedMNIST(flag, size, entry=entry)
    dataset.name = f"small-{dataset.name}"  # beside the real one, under its own name
    return dataset


class DatasetsPlugin:
    """Registers the given dataset instances, as an installed plugin would."""

    def __init__(self, *datasets: DatasetSpec) -> None:
        self.datasets = datasets

    @hookimpl
    def register_datasets(self, register):
        for dataset in self.datasets:
            register(dataset)


def wait_for_training(out: Path, process: subprocess.Popen[str]) -> Path:
    """The run folder, once its record shows the data is built and training has begun."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        for record in out.glob("*/record.json"):
            data = json.loads(record.read_text())
            if data["timings"]["data_seconds"] is not None:
                assert data["status"]["state"] == "running"
                assert data["process"]["pid"] == process.pid
                return record.parent
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the run never started training")


def state_of(folder: Path) -> dict:
    return json.loads((folder / "record.json").read_text())["status"]


def minimal_record(run_id: str = "r", seed: int = 0, value: float = 0.5) -> dict:
    """A complete finished record, small."""
    return {"schema_version": "2.3", "run_id": run_id,
            "created_at": "2026-11-29T00:00:00+00:00",
            "config": {"method": "gaussian", "task": "synthesis", "dataset": "phantom",
                       "budget": "smoke", "seed": seed, "device": "cpu"},
            "method": {"name": "gaussian", "plugin": "medbench", "distribution": "medbench",
                       "version": "0.1.0", "protocol": "SynthesisMethod"},
            "task": {"name": "synthesis", "version": "1.0", "inputs": "SynthesisInputs"},
            "dataset": {"name": "phantom", "version": "1.0.0", "image_size": 32,
                        "pixel_spacing_mm": None, "fields": {}, "splits": {}},
            "budget": {"name": "smoke"}, "status": {"state": "ok"},
            "process": {"host": "here", "pid": 1, "start_ticks": None},
            "timings": {}, "training": None,
            "environment": {"medbench_version": "0.1.0", "torch_version": "2.14.1",
                            "python_version": "3.11", "platform": "test", "device": "cpu",
                            "device_name": "cpu", "cpu_threads": 2, "git_commit": None,
                            "git_dirty": None, "libraries": {}},
            "metrics": {"m": {"value": value, "status": "ok", "higher_is_better": False,
                              "units": "", "range": [0, None], "implementation": "test",
                              "implementation_version": "1", "metric_version": "1",
                              "options": {}, "n_samples": {}}}}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def browser(downloads: Path | None = None):
    """A headless chromium (saving downloads to `downloads`), or a skip: a failure where
    the browser is required (MEDBENCH_REQUIRE_BROWSER=1, as in CI)."""
    import pytest

    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if path is None]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if missing:
        message = f"the browser tests need {', '.join(missing)}"
        if os.environ.get("MEDBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads is not None:
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
