"""The lesion-synthesis protocol: a method that paints a lesion of a requested class into a
healthy slice, inside a requested mask, and what lesion-synthesis metrics read.

The task renames the dataset's fields: a method's `fit` receives a split with ``healthy``
(the slice without its lesion), ``image`` (the same slice with it), ``lesion`` (the lesion's
mask, uint8 (N, 1, H, W), 1 inside), ``organ`` (the organ's mask, the same layout) and
``label`` (the lesion's class, indexing ``data.field("label").value_names``).
"""

from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn.functional as F

from medbench.api.data import Split
from medbench.api.method import Method
from medbench.api.synthesis import DistributionInputs
from medbench.api.task import EvalContext

INPAINT_CHUNK = 250  # the most cases asked of `inpaint` in one call
GROUPS = ("typical", "border", "small", "large")  # where a test case's mask was placed


class LesionSynthesisMethod(Method):
    """A method that adds a lesion of a given class inside a given mask of a healthy slice."""

    @abstractmethod
    def inpaint(self, healthy: torch.Tensor, lesion: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        """The slices `healthy` (n, C, H, W) in [0, 1], each with a lesion of class
        `labels` (n,) int64 inside `lesion` (n, 1, H, W) float, 1 where the lesion must be.

        Return (n, C, H, W) float in [0, 1], on any device; the pixels outside the mask
        should stay as they were (the `context_mae` metric measures how far they move).
        Inputs are on the run's device; `generator` is a CPU generator for any random
        choice. Calls come in chunks of at most INPAINT_CHUNK cases, under
        torch.no_grad(); the harness does not call ``eval()``.
        """


class LesionInputs(DistributionInputs):
    """What lesion-synthesis metrics read.

    Per test case (typical placements first, then the rare ones):
    - `healthy`, `output`: (N, C, H, W) in [0, 1], the input and the method's slice;
    - `requested`, `organ`: (N, 1, H, W) bool, the mask asked for and the organ;
    - `labels`: (N,) int64 class asked for; `groups`: (N,) int64 indexing GROUPS;
    - `real`: (T, C, H, W) the real lesion slices of the T typical cases (rare placements
      have no real slice).
    As DistributionInputs (FD, KID, PRDC): `real_images` are lesion-centred patches of the
    real slices, `generated` the patches of the method's slices at the same cases.
    - `train`: the train split in the method's field names, for reference models;
    - `synthetic`, `synthetic_lesion`, `synthetic_labels`: the method's slices for the
      downstream arms, made from the train split's healthy slices and masks;
    - `class_names`, `value_range` (the image field's stored range, for error units),
      `units`, `patch_size`.
    """

    def __init__(self, *, healthy: torch.Tensor, output: torch.Tensor, requested: torch.Tensor,
                 organ: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor,
                 real: torch.Tensor, real_patches: torch.Tensor,
                 generated_patches: torch.Tensor, train: Split, synthetic: torch.Tensor,
                 synthetic_lesion: torch.Tensor, synthetic_labels: torch.Tensor,
                 class_names: tuple[str, ...], value_range: tuple[float, float], units: str,
                 patch_size: int, context: EvalContext) -> None:
        super().__init__(real_patches, generated_patches, None, context)
        self.healthy, self.output, self.requested, self.organ = healthy, output, requested, organ
        self.labels, self.groups, self.real = labels, groups, real
        self.train = train
        self.synthetic, self.synthetic_lesion = synthetic, synthetic_lesion
        self.synthetic_labels = synthetic_labels
        self.class_names, self.value_range, self.units = class_names, value_range, units
        self.patch_size = patch_size


def grow(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """(N, 1, H, W) bool masks dilated by `pixels` (a square structuring element)."""
    if pixels <= 0:
        return mask
    return F.max_pool2d(mask.float(), 2 * pixels + 1, stride=1, padding=pixels) > 0.5


def centroids(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) centroid of each (N, 1, H, W) mask, in pixels (the image's centre for
    an empty mask)."""
    h, w = mask.shape[-2:]
    weight = mask.float().flatten(1)
    total = weight.sum(1)
    rows = torch.arange(h).repeat_interleave(w).float()
    cols = torch.arange(w).repeat(h).float()
    cy = (weight * rows).sum(1) / total.clamp_min(1e-6)
    cx = (weight * cols).sum(1) / total.clamp_min(1e-6)
    empty = total == 0
    return cy.masked_fill(empty, (h - 1) / 2), cx.masked_fill(empty, (w - 1) / 2)


def lesion_patches(images: torch.Tensor, masks: torch.Tensor, patch: int) -> torch.Tensor:
    """`patch` x `patch` crops of `images` (N, C, H, W) centred on each mask's centroid
    (N, 1, H, W), shifted to stay inside the image: what realism and class fidelity read."""
    h, w = images.shape[-2:]
    cy, cx = centroids(masks)
    top = (cy.round().long() - patch // 2).clamp(0, h - patch)
    left = (cx.round().long() - patch // 2).clamp(0, w - patch)
    return torch.stack([image[:, int(t) : int(t) + patch, int(le) : int(le) + patch]
                        for image, t, le in zip(images, top, left, strict=True)])
