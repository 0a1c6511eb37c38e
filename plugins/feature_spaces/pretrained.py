"""What the pretrained spaces share: 8-bit RGB at 224x224, and one network per weights file.

Each space states its own normalisation; the steps before it are the same for all three,
so their features differ only by the network (and the normalisation it was trained with).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torchvision.models import resnet50

from medbench.api import (
    FeatureExtractor,
    FeatureSpace,
    MetricUnavailable,
    PinnedWeights,
    file_sha256,
)

INPUT_SIZE = 224  # every network here was trained at 224x224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RGB_STEPS = ("quantised to 8 bits, grayscale repeated to 3 channels, bicubic resize to "
             f"{INPUT_SIZE}x{INPUT_SIZE} clamped to [0, 1]")

_NETWORKS: dict[tuple[str, str, str], torch.nn.Module] = {}  # one per file and device


def rgb_224(images: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """[0, 1] images (N, 1 or 3, H, W) as the 8-bit RGB files these networks were fed.

    8-bit quantisation first, as pytorch-fid and dgm-eval read PNGs; bicubic resize as
    dgm-eval and torchvision's presets do; clamped, since bicubic overshoots.
    """
    rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    rgb = torch.round(rgb.clamp(0, 1) * 255.0) / 255.0
    if rgb.shape[-2:] != (size, size):
        rgb = F.interpolate(rgb, size=(size, size), mode="bicubic", align_corners=False,
                            antialias=True)
    return rgb.clamp(0, 1)


def normalise(images: torch.Tensor, mean: Sequence[float],
              std: Sequence[float] | None = None) -> torch.Tensor:
    shape = (1, 3, 1, 1)
    out = images - torch.tensor(mean, device=images.device).view(shape)
    if std is not None:
        out = out / torch.tensor(std, device=images.device).view(shape)
    return out


def check_given(path: Path | None, option: str) -> None:
    """A weights path a user gave must exist: checked when the run is planned, not after
    training (a dataclass __post_init__ raising ValueError becomes a one-line error)."""
    if path is not None and not Path(path).expanduser().is_file():
        raise ValueError(f"{option} {path} is not a file. Pass the path of the weights "
                         f"file, or omit the option")


def load_state(path: Path, space: str) -> dict[str, torch.Tensor]:
    """A checkpoint's tensors, loaded safely (weights_only): a plain state dict, or one
    under 'state_dict' or 'model'. MetricUnavailable when it is neither."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MetricUnavailable(f"the {space} weights {path} do not load as PyTorch weights "
                                f"({type(exc).__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise MetricUnavailable(f"the {space} weights {path} are not a state dict of tensors")
    return state


def load_strictly(network: torch.nn.Module, state: dict[str, torch.Tensor], space: str,
                  path: Path) -> torch.nn.Module:
    """Every key and shape must match: a wrong file is refused, never half-loaded."""
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(expected) & set(state)
                      if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or extra or reshaped:
        example = (missing or extra or reshaped)[0]
        raise MetricUnavailable(
            f"the {space} weights {path} do not fit its network ({len(missing)} keys missing, "
            f"{len(extra)} unexpected, {len(reshaped)} of another shape; e.g. {example})")
    network.load_state_dict(state)
    return network.eval().requires_grad_(False)


def resnet50_trunk(state: dict[str, torch.Tensor], prefixes: tuple[str, ...],
                   dropped: tuple[str, ...], space: str, path: Path) -> torch.nn.Module:
    """torchvision's ResNet-50 without its classifier (2048-d global average pool), loaded
    from `state` after stripping `prefixes` from its keys and leaving out keys that start
    with `dropped` (heads that only training used)."""
    trunk = {}
    for key, value in state.items():
        for prefix in prefixes:
            key = key.removeprefix(prefix)
        if not key.startswith(dropped):
            trunk[key] = value
    network = resnet50(weights=None)
    network.fc = torch.nn.Identity()
    return load_strictly(network, trunk, space, path)


class PretrainedExtractor(FeatureExtractor):
    """A network read from one weights file: a user's path, else the pinned release."""

    name: ClassVar[str]
    dims: ClassVar[int]
    batch_size = 32
    release: ClassVar[PinnedWeights | None]  # None: the user supplies the file
    option: ClassVar[str]  # the metric option that takes a path
    architecture: ClassVar[str]

    def __init__(self, weights: Path | None = None) -> None:
        self.weights = weights

    def weights_path(self) -> Path:
        if self.release is not None:
            return self.release.resolve(self.weights, self.option)
        if self.weights is None:
            raise MetricUnavailable(*self.missing_weights())
        path = Path(self.weights).expanduser()
        if not path.is_file():
            raise MetricUnavailable(f"{self.option} {path} does not exist")
        return path

    def missing_weights(self) -> tuple[str, str]:
        """(reason, hint) where the user must supply the file and has not."""
        return (f"no {self.name} weights given",
                f"pass --metric-option '*.{self.option}=PATH'")

    def variant(self) -> str:
        """What else, besides the weights, changes the features (empty: the default)."""
        return ""

    def identity(self) -> str:
        name = f"{self.name}-{self.variant()}" if self.variant() else self.name
        return f"{name}-{file_sha256(self.weights_path())[:12]}"

    def network(self, device: torch.device) -> torch.nn.Module:
        path = self.weights_path()
        key = (self.identity(), str(path.resolve()), str(device))
        if key not in _NETWORKS:
            _NETWORKS[key] = self.build(load_state(path, self.name), path).to(device)
        return _NETWORKS[key]

    @abstractmethod
    def build(self, state: dict[str, torch.Tensor], path: Path) -> torch.nn.Module:
        """The network with `state` loaded, mapping a preprocessed batch to (N, dims)."""

    def describe(self) -> dict[str, Any]:
        path = self.weights_path()
        sha = file_sha256(path)
        described: dict[str, Any] = {
            "extractor": self.identity(), "architecture": self.architecture,
            "weights_path": str(path), "weights_sha256": sha, "dims": self.dims,
            "preprocessing": self.preprocessing,
        }
        if self.release is not None:
            described["weights_release"] = self.release.url
            described["weights_pinned"] = self.release.sha256 is not None
            described["official_weights"] = self.release.matches(sha) if \
                self.release.sha256 else None
        return described

    preprocessing: ClassVar[str]


def pretrained_space(extractor: type[PretrainedExtractor], summary: str,
                     options: type) -> FeatureSpace:
    """The space of `extractor`: its weights path is the option `extractor.option`; without
    one, the pinned release (if any) is what the harness fetches."""

    def weights(chosen: Any) -> tuple[PinnedWeights, ...]:
        given = getattr(chosen, extractor.option)
        return () if given is not None or extractor.release is None else (extractor.release,)

    return FeatureSpace(extractor.name, summary, options,
                        lambda chosen: extractor(getattr(chosen, extractor.option)),
                        default=False, cost="expensive", weights=weights)
