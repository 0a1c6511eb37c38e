"""The floor of every image-to-image task: the input itself, or a global intensity mapping;
and of lesion synthesis: the healthy slice returned without a lesion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from medbench.api import (
    DataInfo,
    ImageToImageMethod,
    LesionSynthesisMethod,
    Split,
    TrainContext,
)

QUANTILES = 256


@dataclass
class IdentityConfig:
    # auto: copy when source and target have the same channels and units, else map.
    mapping: str = "auto"

    def __post_init__(self) -> None:
        if self.mapping not in ("auto", "copy", "histogram"):
            raise ValueError(f"mapping must be auto, copy or histogram, got {self.mapping!r}")


class Identity(ImageToImageMethod, LesionSynthesisMethod):
    """Copies the input, or maps its intensities through one global monotonic curve.

    The curve is histogram matching (Gonzalez & Woods): each source quantile goes to the
    same quantile of the training targets, per target channel, from the source's mean over
    its channels. It needs no pairs (`paired = False`), so every task gives it unpaired data.
    It is the best a pointwise, monotonic mapping learnt without pairs can do; a method must
    beat it to show that it learnt anatomy, not a lookup table.

    On lesion synthesis it returns the healthy slice: no lesion at all, the floor of
    condition fidelity and of the downstream gain (and a perfect context score).
    """

    name: ClassVar[str] = "identity"
    summary: ClassVar[str] = "The input copied, or mapped by global histogram matching"
    Config: ClassVar[type] = IdentityConfig
    reference: ClassVar[bool] = True
    paired: ClassVar[bool] = False

    def __init__(self, config: IdentityConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.copy = True
        if "source" not in data.fields:  # lesion synthesis: nothing to map
            return
        source, target = data.field("source"), data.field("target")
        same = source.channels == target.channels and source.units == target.units
        if config.mapping == "copy" and source.channels != target.channels:
            raise ValueError(f"cannot copy {source.channels}-channel sources to "
                             f"{target.channels}-channel targets; use mapping=histogram")
        self.copy = config.mapping == "copy" or (config.mapping == "auto" and same)
        self.target_channels = target.channels
        self.source_quantiles = torch.zeros(QUANTILES)
        self.target_quantiles = torch.zeros(target.channels, QUANTILES)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        context.count_images(len(train))
        if self.copy:
            return
        levels = torch.linspace(0, 1, QUANTILES)
        source = train["source"].mean(dim=1).flatten()
        target = train["target"].transpose(0, 1).flatten(1)
        self.source_quantiles = _quantiles(source, levels)
        self.target_quantiles = torch.stack([_quantiles(channel, levels) for channel in target])

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        if self.copy:
            return source
        gray = source.mean(dim=1).cpu()
        # Where a source value falls among the source quantiles, as a fractional level.
        index = torch.searchsorted(self.source_quantiles.contiguous(), gray.contiguous())
        index = index.clamp(1, QUANTILES - 1)
        low, high = self.source_quantiles[index - 1], self.source_quantiles[index]
        fraction = ((gray - low) / (high - low).clamp_min(1e-12)).clamp(0, 1)
        channels = []
        for curve in self.target_quantiles:
            channels.append(curve[index - 1] + fraction * (curve[index] - curve[index - 1]))
        return torch.stack(channels, dim=1).clamp(0, 1)

    def inpaint(self, healthy: torch.Tensor, lesion: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        return healthy

    def state_dict(self) -> dict[str, Any]:
        if "source" not in self.data.fields:
            return {}
        return {"source_quantiles": self.source_quantiles,
                "target_quantiles": self.target_quantiles}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:  # lesion synthesis, or a copy: nothing was learnt
            return
        self.source_quantiles = state["source_quantiles"]
        self.target_quantiles = state["target_quantiles"]


def _quantiles(values: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    # torch.quantile refuses very large inputs; a fixed strided subsample keeps it exact
    # enough (256 levels) and deterministic.
    step = max(1, len(values) // 4_000_000)
    return torch.quantile(values[::step].double(), levels.double()).float()
