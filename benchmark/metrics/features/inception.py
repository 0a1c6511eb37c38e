"""InceptionV3 pool3 features exactly as pytorch-fid computes them, for the standard FID.

The weights are pytorch-fid's release (``INCEPTION_WEIGHTS``): the harness fetches them into
the torch hub cache before a run where a network exists, or they come from an explicit
path; their SHA-256 is recorded. Without them the metric is reported as unavailable, with a
hint on how to get them.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from pytorch_fid.inception import (
    FID_WEIGHTS_URL,
    FIDInceptionA,
    FIDInceptionC,
    FIDInceptionE_1,
    FIDInceptionE_2,
    InceptionV3,
)
from torchvision.models import inception_v3

from medbench.api import FeatureExtractor, MetricUnavailable, PinnedWeights, file_sha256

WEIGHTS_FILENAME = FID_WEIGHTS_URL.rsplit("/", 1)[-1]
# The release file's name carries the first 8 hex digits of its SHA-256, the only part of
# the digest that pytorch-fid publishes (torch hub's convention).
OFFICIAL_SHA256_PREFIX = WEIGHTS_FILENAME.rsplit("-", 1)[-1].split(".")[0]
INCEPTION_WEIGHTS = PinnedWeights(
    WEIGHTS_FILENAME, FID_WEIGHTS_URL, OFFICIAL_SHA256_PREFIX,
    publisher="pytorch-fid's port of TensorFlow's 2015-12-05 FID Inception")


def hub_weights_path() -> Path:
    return INCEPTION_WEIGHTS.cache_path()


def resolve_weights(given: Path | None) -> Path:
    """`given`, else the torch hub cache; MetricUnavailable (with a hint) when missing."""
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise MetricUnavailable(f"--inception-weights {path} does not exist")
        return path
    path = hub_weights_path()
    if not path.is_file():
        raise MetricUnavailable(
            f"pytorch-fid's InceptionV3 FID weights ({path.name}) not found in this "
            f"machine's torch hub cache",
            hint=f"FID needs pytorch-fid's Inception weights: run `medbench weights fetch` "
                 f"where a network exists, or download {FID_WEIGHTS_URL} to {path} (or "
                 f"anywhere, then pass --inception-weights PATH).",
        )
    return path


def fid_inception_skeleton() -> torch.nn.Module:
    """pytorch-fid's FID InceptionV3 architecture with untrained weights.

    The same construction as pytorch_fid.inception.fid_inception_v3, without its download:
    it tells which keys and shapes a genuine weights file holds.
    """
    net = inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net


@lru_cache(maxsize=1)
def _expected_shapes() -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in fid_inception_skeleton().state_dict().items()}


def is_official(sha256: str) -> bool:
    return sha256.startswith(OFFICIAL_SHA256_PREFIX)


@lru_cache(maxsize=8)
def _weights_problem(path: str, mtime_ns: int, size: int) -> str | None:
    if size == 0:
        return "is empty"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        return f"does not load as PyTorch weights ({type(exc).__name__})"
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return "is not a state dict of tensors"
    expected = _expected_shapes()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(expected) & set(state)
                      if tuple(state[k].shape) != expected[k])
    if missing or extra or reshaped:
        return (f"is not pytorch-fid's InceptionV3 ({len(missing)} keys missing, {len(extra)} "
                f"unexpected, {len(reshaped)} of another shape; e.g. "
                f"{(missing or extra or reshaped)[0]})")
    return None


def weights_problem(path: Path) -> str | None:
    """Why `path` cannot be pytorch-fid's InceptionV3 weights, or None if it can.

    Checked when a run is planned: loads with weights_only=True and compares every key and
    shape with the architecture. Whether the file is the *official* one is a separate
    question (its SHA-256), answered in the record.
    """
    stat = path.stat()
    return _weights_problem(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def load_fid_inception(weights: Path) -> InceptionV3:
    """pytorch-fid's InceptionV3 (pool3, 2048-d), loaded from `weights` without network.

    pytorch-fid loads its weights through torch.hub's cache ($TORCH_HOME/hub/checkpoints).
    Pointing TORCH_HOME at a temporary folder that links to `weights` reuses that exact
    loading code for any path. TORCH_HOME rather than torch.hub.set_dir, because set_dir
    cannot be undone: it would pin every later hub lookup of the process to one folder.
    """
    if weights.resolve() == hub_weights_path().resolve():
        return InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]])
    previous = os.environ.get("TORCH_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.makedirs(Path(home) / "hub" / "checkpoints")
        os.symlink(weights.resolve(), Path(home) / "hub" / "checkpoints" / WEIGHTS_FILENAME)
        os.environ["TORCH_HOME"] = home
        try:
            if Path(torch.hub.get_dir()) != Path(home) / "hub":
                raise MetricUnavailable(
                    f"this process called torch.hub.set_dir, so weights given by path cannot "
                    f"be loaded; put them at {hub_weights_path()} instead")
            return InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]])
        finally:
            if previous is None:
                os.environ.pop("TORCH_HOME", None)
            else:
                os.environ["TORCH_HOME"] = previous


class _Pool3(torch.nn.Module):
    def __init__(self, inception: InceptionV3) -> None:
        super().__init__()
        self.inception = inception.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inception(x)[0].flatten(1)


_NETWORKS: dict[tuple[str, str], torch.nn.Module] = {}


class InceptionExtractor(FeatureExtractor):
    """pool3 features of pytorch-fid's InceptionV3, from `weights` or the torch hub cache."""

    name = "inception"
    dims = 2048
    batch_size = 50

    def __init__(self, weights: Path | None = None) -> None:
        self.weights = weights

    def identity(self) -> str:
        return f"inception-pool3-{file_sha256(resolve_weights(self.weights))[:12]}"

    def network(self, device: torch.device) -> torch.nn.Module:
        weights = resolve_weights(self.weights)
        key = (f"{weights.resolve()}:{file_sha256(weights)}", str(device))
        if key not in _NETWORKS:
            _NETWORKS[key] = _Pool3(load_fid_inception(weights)).to(device)
        return _NETWORKS[key]

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        # pytorch-fid reads 8-bit RGB files: quantise to 8 bits and repeat gray to 3
        # channels. Its InceptionV3 then resizes to 299x299 (bilinear) and maps to [-1, 1].
        rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        return torch.round(rgb.clamp(0, 1) * 255.0) / 255.0

    def describe(self) -> dict[str, Any]:
        weights = resolve_weights(self.weights)
        sha = file_sha256(weights)
        return {
            "extractor": self.identity(),
            "weights_path": str(weights),
            "weights_sha256": sha,
            "official_weights": is_official(sha),
            "dims": self.dims,
            "preprocessing": "quantised to 8 bits, grayscale repeated to 3 channels, "
                             "bilinear resize to 299x299 and [-1, 1] scaling by pytorch-fid "
                             "InceptionV3(resize_input=True, normalize_input=True)",
        }
