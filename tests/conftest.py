"""Shared fixtures: a fresh plugin host per test, a tiny dataset and budget for fast runs."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medbench.host.manager import PluginHost, load_host
from medbench.metrics.downstream import recipe, scores
from medbench.metrics.features.inception import WEIGHTS_FILENAME
from medbench.run import budgets

from support import (
    TINY_BUDGET,
    TINY_LONG_BUDGET,
    TinyDatasetPlugin,
    random_fid_inception_weights,
)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache per test session: the real phantom is built once."""
    return tmp_path_factory.mktemp("medbench-cache")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, shared_cache: Path,
                         tmp_path: Path) -> None:
    """No test sees the user's caches, results database, torch hub, third-party plugins or a
    GPU choice."""
    isolate(monkeypatch, shared_cache, tmp_path)


def isolate(monkeypatch: pytest.MonkeyPatch, shared_cache: Path, tmp_path: Path) -> None:
    """What `isolated_environment` sets, for fixtures of a wider scope too."""
    monkeypatch.setenv("MEDBENCH_CACHE", str(shared_cache))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("MEDBENCH_RESULTS_DB", str(tmp_path / "results.sqlite"))
    monkeypatch.setenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wide enough to assert on
    monkeypatch.delenv("MEDBENCH_DEVICE", raising=False)
    monkeypatch.delenv("MEDBENCH_INCEPTION_WEIGHTS", raising=False)
    # Datasets' files: no user data folder, no real ~/.medmnist, and never the network.
    monkeypatch.delenv("MEDBENCH_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLCONFIGDIR", str(shared_cache / "matplotlib"))  # font cache once
    monkeypatch.setenv("MEDBENCH_OFFLINE", "1")
    monkeypatch.setenv("MEDBENCH_USER_DATASETS", str(tmp_path / "user-datasets.json"))
    monkeypatch.setitem(budgets.BUDGETS, "tiny", TINY_BUDGET)
    monkeypatch.setitem(budgets.BUDGETS, "tiny-long", TINY_LONG_BUDGET)
    # The downstream classifiers train for the recipe's fixed length; tests check what they
    # report, not how well they learn, so they train briefly.
    monkeypatch.setattr(recipe, "STEPS", 12)
    monkeypatch.setattr(scores, "AUROC_RESAMPLES", 20)
    monkeypatch.setattr(scores, "BALANCED_ACCURACY_RESAMPLES", 200)


def _make_host(*plugins: object) -> PluginHost:
    """Built-ins plus `plugins`, registered in-process before the hooks are called."""
    return load_host(False, *plugins)


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


@pytest.fixture(scope="session")
def inception_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / WEIGHTS_FILENAME
    random_fid_inception_weights(path)
    return path


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload and honours ``Range: bytes=N-`` as a real file server does."""

    payload = b""
    requests: list[str | None] = []

    def do_GET(self) -> None:
        start = 0
        asked = self.headers.get("Range")
        type(self).requests.append(asked)
        if asked:
            start = int(asked.removeprefix("bytes=").rstrip("-"))
            if start >= len(self.payload):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range",
                             f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch) -> Iterator[tuple[str, type[_RangeHandler]]]:
    """A file server on the loopback address, for the download path (never the network)."""
    monkeypatch.delenv("MEDBENCH_OFFLINE")
    handler = type("Handler", (_RangeHandler,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def studied_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two finished tiny runs (a Gaussian and a DCGAN), made once per session, for the
    reader-study tests."""
    from medbench.cli import app

    folder = tmp_path_factory.mktemp("study-runs")
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, tmp_path_factory.getbasetemp() / "medbench-cache-study", folder)
        host = _make_host(TinyDatasetPlugin())
        for method in ("gaussian", "dcgan"):
            result = CliRunner().invoke(app, [
                "run", "--method", method, "--task", "synthesis", "--dataset", "tiny-phantom",
                "--budget", "tiny", "--out", str(folder / "runs"), "--device", "cpu"], obj=host)
            assert result.exit_code == 0, result.output
    return sorted(path.parent for path in (folder / "runs").rglob("record.json"))
