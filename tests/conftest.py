"""Shared fixtures: a fresh plugin host per test, a tiny dataset and budget for fast runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from medbench.api.dataset import SPLITS, DatasetSpec, SplitArrays, SplitManifest
from medbench.datasets.phantom.anatomy import CLASS_NAMES, render
from medbench.hookspecs import hookimpl
from medbench.metrics.features.inception import WEIGHTS_FILENAME
from medbench.plugin_manager import PluginHost, load_host, load_registries
from medbench.run import budgets
from medbench.run.budgets import Budget

TINY_SIZES = {"train": 64, "val": 48, "test": 48}


class TinyPhantom(DatasetSpec):
    """A few phantom slices, so that a whole run takes seconds in tests."""

    name: ClassVar[str] = "tiny-phantom"
    version: ClassVar[str] = "test"
    summary: ClassVar[str] = "a handful of phantom slices for tests"
    modality: ClassVar[str] = "CT (simulated)"
    native_size: ClassVar[int] = 32
    class_names: ClassVar[tuple[str, ...]] = CLASS_NAMES
    fields: ClassVar[tuple[str, ...]] = ("image", "label", "mask")

    def build(self, cache_dir: Path) -> dict[str, SplitArrays]:
        out = {}
        for index, split in enumerate(SPLITS):
            labels = np.arange(TINY_SIZES[split]) % len(CLASS_NAMES)
            batch = render(labels, 32, np.random.default_rng(100 + index))
            out[split] = SplitArrays(batch.image, batch.label, batch.mask)
        return out

    def manifest(self) -> dict[str, SplitManifest]:
        built = self.build(Path("unused"))
        return {split: SplitManifest(len(a), a.sha256()) for split, a in built.items()}

    def card(self) -> str:
        return "# tiny-phantom\nTest data."


class TinyDatasetPlugin:
    @hookimpl
    def register_datasets(self, register):  # noqa: ANN001, ANN201
        register(TinyPhantom())


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache per test session: the real phantom is built once (~30 s)."""
    return tmp_path_factory.mktemp("medbench-cache")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, shared_cache: Path,
                         tmp_path: Path) -> None:
    """No test sees the user's caches, torch hub, third-party plugins or a GPU choice."""
    monkeypatch.setenv("MEDBENCH_CACHE", str(shared_cache))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wide enough to assert on
    monkeypatch.delenv("MEDBENCH_DEVICE", raising=False)
    monkeypatch.delenv("MEDBENCH_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setitem(budgets.BUDGETS, "tiny",
                        Budget("tiny", image_size=32, train_images=256, eval_samples=40,
                               intended_for="tests"))


def _make_host(*plugins: object) -> PluginHost:
    """Built-ins plus `plugins`, registered the way entry points are."""
    host = load_host(autoload=False)
    for index, plugin in enumerate(plugins):
        host.pm.register_plugin(plugin, f"test-plugin-{index}")
    host.registries = load_registries(host.pm)
    return host


@pytest.fixture
def make_host() -> Callable[..., PluginHost]:
    """A fresh host per call, with extra plugins registered as if installed."""
    return _make_host


@pytest.fixture
def make_tiny_host() -> Callable[..., PluginHost]:
    """Like make_host, with the tiny dataset installed too."""
    return lambda *plugins: _make_host(TinyDatasetPlugin(), *plugins)


@pytest.fixture
def host() -> PluginHost:
    """Built-ins plus the tiny dataset."""
    return _make_host(TinyDatasetPlugin())


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny_args(tmp_path: Path) -> Callable[..., list[str]]:
    """CLI arguments of a run on the tiny dataset and budget, writing under tmp_path."""

    def args(method: str, *extra: str) -> list[str]:
        return ["run", "--method", method, "--task", "synthesis", "--dataset", "tiny-phantom",
                "--budget", "tiny", "--out", str(tmp_path / "runs"), "--device", "cpu", *extra]

    return args


def random_fid_inception_weights(path: Path) -> None:
    """A random-weight checkpoint with the exact layout of pytorch-fid's FID weights, so
    the real FID code path runs offline."""
    from pytorch_fid import inception as fid
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    net.Mixed_5b = fid.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fid.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fid.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fid.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fid.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fid.FIDInceptionE_1(1280)
    net.Mixed_7c = fid.FIDInceptionE_2(2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)


@pytest.fixture(scope="session")
def inception_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / WEIGHTS_FILENAME
    random_fid_inception_weights(path)
    return path
