"""Pretrained weights on demand: found in the cache, else fetched once and verified.

A run fetches the weights of its selected metrics before training (`fetch_metric_weights`),
and `medbench weights fetch` does it explicitly. Offline (``--offline`` or
``MEDBENCH_OFFLINE=1``), or where no network answers within a short timeout, nothing is
fetched: the run goes on, and the metrics that need the file are recorded as unavailable
with the hint of what to put where. A file already in the cache is used as it is; the
metric records its SHA-256, and leaderboards leave out values from unofficial weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from medbench.api import MedbenchError, Metric, PinnedWeights, Progress
from medbench.run.datafiles import hash_file
from medbench.run.fetch import Offline, download_url, offline_requested
from medbench.run.scoring import SelectedMetric

# A run on a machine without a network waits at most this long before it goes on.
CONNECT_TIMEOUT_SECONDS = 10.0
# URLs that did not answer in this process: a sweep tries each once, not once per run.
_UNREACHABLE: dict[str, str] = {}


@dataclass(frozen=True)
class WeightsState:
    weights: PinnedWeights
    path: Path
    action: str  # "already present", "downloaded", "resumed"


def fetch_weights(weights: PinnedWeights, progress: Progress, offline: bool = False,
                  timeout: float = CONNECT_TIMEOUT_SECONDS) -> WeightsState:
    """`weights` in the cache: found, or downloaded and verified. Raises Offline (no network,
    or offline) or another MedbenchError (a download that is not the published file)."""
    path = weights.cache_path()
    if path.is_file():
        return WeightsState(weights, path, "already present")
    if weights.url in _UNREACHABLE and not offline and not offline_requested():
        raise Offline(_UNREACHABLE[weights.url])

    def problem(partial: Path) -> str | None:
        digest = hash_file(partial, "sha256")
        if weights.matches(digest):
            return None
        return (f"The download of {weights.name} has sha256 {digest[:16]}…, which does not "
                f"match {weights.pinned_by}; it was deleted. Fetch again; if it persists, "
                f"the publisher changed the file: report it.")

    try:
        action = download_url(weights.url, path, progress, f"fetch {weights.name}",
                              weights.size_bytes, problem, timeout=timeout, offline=offline)
    except Offline as exc:
        if not offline and not offline_requested():
            _UNREACHABLE[weights.url] = str(exc)
        raise
    return WeightsState(weights, path, action)


def metric_weights(metrics: list[SelectedMetric]) -> dict[PinnedWeights, list[str]]:
    """Each weights file the selected metrics read -> the names of the metrics that read it."""
    needed: dict[PinnedWeights, list[str]] = {}
    for chosen in metrics:
        for weights in chosen.metric.weights(chosen.options):
            needed.setdefault(weights, []).append(chosen.metric.name)
    return needed


def fetch_metric_weights(metrics: list[SelectedMetric], progress: Progress,
                         offline: bool = False) -> list[str]:
    """Fetch what the selected metrics read; returns a notice for each file that could not
    be had (its metrics then record themselves unavailable, with the hint of what to put
    where). Offline by request, no notice."""
    notices = []
    for weights, users in metric_weights(metrics).items():
        try:
            fetch_weights(weights, progress, offline)
        except MedbenchError as exc:
            if isinstance(exc, Offline):  # the metrics' own hints say what to put where
                if not (offline or offline_requested()):
                    notices.append(f"Weights {weights.name} not fetched: {exc.why}.")
            else:
                notices.append(f"Weights {weights.name} (for {', '.join(users)}) not "
                               f"fetched: {str(exc).rstrip('.')}.")
    return notices


def registered_weights(metrics: Iterable[Metric]) -> dict[PinnedWeights, list[str]]:
    """Every weights file the registered metrics read with their default options -> the
    metrics' names: what `medbench weights fetch` fetches."""
    return metric_weights([SelectedMetric(metric, metric.Options()) for metric in metrics])
