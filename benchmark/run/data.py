"""Turning a registered dataset into the tensors of one run, hashes checked."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medbench.api.dataset import SPLITS, DatasetSpec, Split, SplitArrays
from medbench.errors import DatasetIntegrityError
from medbench.record.schema import DatasetInfo, SplitInfo


def verify_against_manifest(dataset: DatasetSpec, arrays: dict[str, SplitArrays]) -> dict[str, str]:
    """Hash every split and compare with the committed manifest; returns the hashes."""
    manifest = dataset.manifest()
    hashes = {}
    for split in SPLITS:
        digest = arrays[split].sha256()
        pinned = manifest[split]
        if digest != pinned.sha256 or len(arrays[split]) != pinned.size:
            raise DatasetIntegrityError(
                f"Dataset '{dataset.name}' {dataset.version} split '{split}' does not match its "
                f"manifest (sha256 {digest[:12]}… vs pinned {pinned.sha256[:12]}…); results "
                f"would not be comparable. Delete the dataset cache and rebuild, or report it."
            )
        hashes[split] = digest
    return hashes


def to_split(name: str, arrays: SplitArrays, image_size: int,
             class_names: tuple[str, ...]) -> Split:
    """uint8 arrays -> float tensors in [0, 1] at the budget's image size.

    Downsizing uses area averaging (anti-aliased); masks use nearest neighbour.
    """
    images = torch.from_numpy(arrays.images).unsqueeze(1).float().div_(255.0)
    masks = None if arrays.masks is None else torch.from_numpy(arrays.masks).unsqueeze(1)
    if images.shape[-1] != image_size:
        mode = "area" if image_size < images.shape[-1] else "bilinear"
        images = F.interpolate(images, size=(image_size, image_size), mode=mode).clamp_(0, 1)
        if masks is not None:
            masks = F.interpolate(masks.float(), size=(image_size, image_size),
                                  mode="nearest").to(torch.uint8)
    return Split(name, images.contiguous(), torch.from_numpy(arrays.labels).long(), class_names,
                 masks)


def dataset_info(dataset: DatasetSpec, arrays: dict[str, SplitArrays], hashes: dict[str, str],
                 image_size: int) -> DatasetInfo:
    return DatasetInfo(
        name=dataset.name, version=dataset.version, image_size=image_size,
        splits={split: SplitInfo(len(arrays[split]), hashes[split]) for split in SPLITS},
    )
