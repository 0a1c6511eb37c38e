"""Pretrained weights on demand: fetched once and verified where a server answers, never
fetched offline, a one-line notice without a network, and `medbench weights`."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request

import pytest

from medbench.api import DataFileError, PinnedWeights, SilentProgress
from medbench.cli import app
from medbench.metrics import spaces
from medbench.metrics.features.inception import INCEPTION_WEIGHTS, hub_weights_path
from medbench.run import weights as weights_module
from medbench.run.fetch import Offline
from medbench.run.scoring import select_metrics
from medbench.run.weights import fetch_metric_weights, fetch_weights


@pytest.fixture(autouse=True)
def no_memory_of_unreachable_servers(monkeypatch):
    monkeypatch.setattr(weights_module, "_UNREACHABLE", {})


def _published(server, payload: bytes, pin: int = 64) -> PinnedWeights:
    base, handler = server
    handler.payload = payload
    digest = hashlib.sha256(payload).hexdigest()
    return PinnedWeights("net-1234abcd.pth", f"{base}/net.pth", digest[:pin], publisher="a lab")


def test_weights_are_downloaded_once_verified_and_kept_in_torch_hub_cache(tmp_path, server):
    weights = _published(server, b"weights" * 1000)
    first = fetch_weights(weights, SilentProgress())
    assert first.action == "downloaded"
    assert first.path == tmp_path / "torch-home" / "hub" / "checkpoints" / "net-1234abcd.pth"
    assert first.path.read_bytes() == b"weights" * 1000
    again = fetch_weights(weights, SilentProgress())
    assert again.action == "already present" and len(server[1].requests) == 1


def test_a_publishers_sha256_prefix_pins_the_file_as_torch_hub_does(server):
    weights = _published(server, b"inception-like" * 100, pin=8)
    assert weights.pinned_by == f"the publisher's SHA-256 prefix {weights.sha256}"
    assert fetch_weights(weights, SilentProgress()).action == "downloaded"


def test_a_download_that_is_not_the_published_file_is_deleted_never_used(server):
    weights = _published(server, b"the real weights")
    server[1].payload = b"something else!!"
    with pytest.raises(DataFileError, match="does not match SHA-256"):
        fetch_weights(weights, SilentProgress())
    folder = weights.cache_path().parent
    assert list(folder.iterdir()) == []  # neither the file nor its .part


def test_offline_touches_no_network_and_says_what_to_put_where(server, monkeypatch):
    weights = _published(server, b"weights")
    with pytest.raises(Offline) as caught:
        fetch_weights(weights, SilentProgress(), offline=True)
    assert weights.url in str(caught.value) and str(weights.cache_path()) in str(caught.value)
    monkeypatch.setenv("MEDBENCH_OFFLINE", "1")
    with pytest.raises(Offline):
        fetch_weights(weights, SilentProgress())
    assert server[1].requests == []


def _no_network(calls: list[float]):
    def urlopen(request, timeout):
        calls.append(timeout)
        raise urllib.error.URLError("unreachable")

    return urlopen


def test_without_a_network_a_sweep_waits_once_not_once_per_run(monkeypatch):
    monkeypatch.delenv("MEDBENCH_OFFLINE")
    calls: list[float] = []
    monkeypatch.setattr(urllib.request, "urlopen", _no_network(calls))
    for _ in range(3):
        with pytest.raises(Offline, match="No network"):
            fetch_weights(INCEPTION_WEIGHTS, SilentProgress())
    assert calls == [weights_module.CONNECT_TIMEOUT_SECONDS]  # short, and only once


def _inception_metrics(host):
    return select_metrics(host.registries.tasks.get("synthesis"), host.registries.metrics,
                          ["fid", "kid_inception", "fd_randcnn"], {})


def test_a_run_gets_a_one_line_notice_without_a_network_and_none_offline(host, monkeypatch):
    chosen = _inception_metrics(host)
    assert fetch_metric_weights(chosen, SilentProgress()) == []  # MEDBENCH_OFFLINE=1
    monkeypatch.delenv("MEDBENCH_OFFLINE")
    monkeypatch.setattr(urllib.request, "urlopen", _no_network([]))
    [notice] = fetch_metric_weights(chosen, SilentProgress())
    assert notice == f"Weights {INCEPTION_WEIGHTS.name} not fetched: no network " \
                     f"(unreachable)."
    assert "\n" not in notice


def test_weights_given_by_path_are_not_fetched(host, inception_checkpoint):
    options = {"*": {"inception_weights": str(inception_checkpoint)}}
    chosen = select_metrics(host.registries.tasks.get("synthesis"), host.registries.metrics,
                            ["fid"], options)
    assert chosen[0].metric.weights(chosen[0].options) == ()


def test_weights_cli_status_and_fetch(host, runner, server, monkeypatch, inception_checkpoint):
    status = runner.invoke(app, ["weights", "status"], obj=host)
    assert status.exit_code == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in status.output.splitlines()}
    row = rows[INCEPTION_WEIGHTS.name]  # piped: tab-separated
    assert row[1] == "missing" and "fid" in row[2]
    assert row[3] == str(hub_weights_path())

    unknown = runner.invoke(app, ["weights", "fetch", "nosuch.pth"], obj=host)
    assert unknown.exit_code != 0 and INCEPTION_WEIGHTS.name in unknown.output
    offline = runner.invoke(app, ["weights", "fetch", INCEPTION_WEIGHTS.name, "--offline"],
                            obj=host)
    assert offline.exit_code != 0 and "Offline" in offline.output
    assert len(offline.output.strip().splitlines()) == 1 and server[1].requests == []

    # A random-weight Inception checkpoint, published on the loopback server in its place.
    payload = inception_checkpoint.read_bytes()
    published = _published(server, payload)
    published = PinnedWeights(INCEPTION_WEIGHTS.name, published.url, published.sha256,
                              publisher="a test")
    monkeypatch.setattr(spaces, "INCEPTION_WEIGHTS", published)
    fetched = runner.invoke(app, ["weights", "fetch", INCEPTION_WEIGHTS.name], obj=host)
    assert fetched.exit_code == 0, fetched.output
    assert f"downloaded: {INCEPTION_WEIGHTS.name}" in fetched.output
    assert hub_weights_path().read_bytes() == payload
    again = runner.invoke(app, ["weights", "status"], obj=host)
    assert f"{INCEPTION_WEIGHTS.name}\tpresent" in again.output


def test_weights_with_no_published_digest_are_fetched_and_their_digest_recorded(tmp_path,
                                                                                server):
    """Meta publishes no checksum for SwAV or DINOv2: the file is used as downloaded, and
    the extractor records its SHA-256 with every value (tests/test_feature_spaces.py)."""
    base, handler = server
    handler.payload = b"release" * 100
    weights = PinnedWeights("release.pth", f"{base}/release.pth", None, publisher="a lab")
    assert weights.pinned_by.startswith("no published digest")
    fetched = fetch_weights(weights, SilentProgress())
    assert fetched.action == "downloaded" and fetched.path.read_bytes() == handler.payload
    with pytest.raises(ValueError, match="sha256 must be"):
        PinnedWeights("x.pth", f"{base}/x.pth", "not-hex", publisher="a lab")
