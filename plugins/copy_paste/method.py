"""Copy-paste: a real training lesion of the asked class, resized to the requested mask's
bounding box and pasted inside the mask. The trivial method every lesion GAN must beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, LesionSynthesisMethod, Split, TrainContext


@dataclass
class CopyPasteConfig:
    # Lesions kept per class (the first ones of the train split); a pasted lesion is drawn
    # uniformly among its class's.
    per_class: int = 256
    crop: int = 32  # stored crops are resized to crop x crop pixels
    margin: int = 1  # pixels of context kept around each lesion's bounding box

    def __post_init__(self) -> None:
        if not 1 <= self.per_class <= 100_000 or not 4 <= self.crop <= 512:
            raise ValueError("per_class must lie in [1, 100000] and crop in [4, 512]")
        if not 0 <= self.margin <= 16:
            raise ValueError(f"margin must lie in [0, 16], got {self.margin}")


def bounding_box(mask: torch.Tensor, margin: int = 0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), exclusive ends, of a (H, W) bool mask, grown by `margin`
    and kept inside the image."""
    rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
    h, w = mask.shape
    return (max(0, int(rows[0]) - margin), min(h, int(rows[-1]) + 1 + margin),
            max(0, int(cols[0]) - margin), min(w, int(cols[-1]) + 1 + margin))


class CopyPaste(LesionSynthesisMethod):
    name: ClassVar[str] = "copy-paste"
    summary: ClassVar[str] = ("A real training lesion of the asked class, resized into the "
                              "requested mask (baseline)")
    Config: ClassVar[type] = CopyPasteConfig
    reference: ClassVar[bool] = True

    def __init__(self, config: CopyPasteConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        classes, channels = len(data.class_names), data.field("image").channels
        self.crops = torch.zeros(classes, config.per_class, channels, config.crop, config.crop)
        self.counts = torch.zeros(classes, dtype=torch.long)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        """Stores crops of the first `per_class` lesions of each class; learns nothing."""
        context.count_images(len(train))
        size = self.config.crop
        for index in range(len(train)):
            label = int(train["label"][index])
            if self.counts[label] >= self.config.per_class:
                continue
            top, bottom, left, right = bounding_box(train["lesion"][index, 0].bool(),
                                                    self.config.margin)
            crop = train["image"][index : index + 1, :, top:bottom, left:right]
            self.crops[label, self.counts[label]] = F.interpolate(
                crop, size=(size, size), mode="bilinear", align_corners=False)[0]
            self.counts[label] += 1

    def inpaint(self, healthy: torch.Tensor, lesion: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        out = healthy.clone()
        margin = self.config.margin
        for i in range(len(healthy)):
            mask = lesion[i, 0] > 0.5
            label = int(labels[i])
            available = int(self.counts[label])
            if not mask.any() or available == 0:
                continue
            choice = int(torch.randint(available, (1,), generator=generator))
            top, bottom, left, right = bounding_box(mask.cpu(), margin)
            patch = F.interpolate(self.crops[label, choice][None].to(healthy.device),
                                  size=(bottom - top, right - left), mode="bilinear",
                                  align_corners=False)[0]
            region = out[i, :, top:bottom, left:right]
            inside = mask[top:bottom, left:right]
            region[:, inside] = patch[:, inside]
        return out.clamp(0, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"crops": self.crops, "counts": self.counts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.crops, self.counts = state["crops"], state["counts"]
