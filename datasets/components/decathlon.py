"""Medical Segmentation Decathlon tasks in their official layout, as 2D slices.

The layout, as released (``Task03_Liver.tar``)::

    Task03_Liver/dataset.json       labels, modality and the training list
    Task03_Liver/imagesTr/liver_0.nii.gz
    Task03_Liver/labelsTr/liver_0.nii.gz
    Task03_Liver/imagesTs/...       no labels: not used

Only the labelled training cases are used; their patients are split 70/10/20 into train,
val and test by a fixed seed, so no patient is in two splits. Axial slices that show the
organ become samples: CT in HU, the organ and lesion as a mask, and a slice label (normal:
no lesion pixel at the stored size; lesion: some). Slices are padded to square with air,
resized to the stored size with the shared anti-aliased resizer (nearest for masks), and
shown in the neurological convention (anterior up, patient's right on the right).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api import (
    SPLITS,
    DataFile,
    DataFileError,
    Field,
    FileDataset,
    SplitArrays,
    SplitManifest,
    cached_decode,
    files_fingerprint,
    pad_to_square,
    read_nifti,
    resize_array,
    split_patients,
)

HOW_TO_GET = ("download {tar} from http://medicaldecathlon.com (CC BY-SA 4.0) and extract it "
              "into the data folder")
CITATION = ("Antonelli M, Reinke A, Bakas S, et al. The Medical Segmentation Decathlon. "
            "Nature Communications 13:4128, 2022")
AIR_HU = -1024
HU_LIMITS = (-1024, 3071)


class DecathlonTask(FileDataset):
    """One MSD task folder; subclasses name it, its window, and its label values."""

    data_folder: ClassVar[str] = "msd"
    licence: ClassVar[str] = "CC BY-SA 4.0"
    citation: ClassVar[str] = CITATION
    version: ClassVar[str] = "1.0.0"
    split_seed: ClassVar[int | None] = 20261130
    task_folder: ClassVar[str]  # e.g. "Task03_Liver"
    organ_values: ClassVar[tuple[int, ...]]  # label values a slice must show to be kept
    lesion_value: ClassVar[int]  # the label value of the lesion
    mask_names: ClassVar[tuple[str, ...]]  # medbench's names for label values 0, 1, 2...
    window: ClassVar[tuple[float, float]]  # (level, width) in HU
    min_organ_pixels: ClassVar[int] = 16  # at the stored size: fewer is no organ slice

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        level, width = self.window
        return (
            Field("image", "image", "int16", value_range=(level - width / 2, level + width / 2),
                  units="HU", window=self.window,
                  description=f"axial CT slice in HU; [0, 1] is the window level {level:g}, "
                              f"width {width:g} HU"),
            Field("label", "label", "int64", value_names=("normal", "lesion"),
                  description="lesion: the slice's mask has lesion pixels at the stored size"),
            Field("mask", "mask", "uint8", value_names=self.mask_names,
                  description="the Decathlon's label map, resized with nearest neighbour"),
        )

    normal_class: ClassVar[str | None] = "normal"

    def data_files(self) -> tuple[DataFile, ...]:
        return (DataFile(f"{self.task_folder}/dataset.json", "",
                         how_to_get=HOW_TO_GET.format(tar=f"{self.task_folder}.tar")),)

    def manifest(self) -> dict[str, SplitManifest]:
        return {}  # sizes are known once the user's copy is decoded

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        root = files[f"{self.task_folder}/dataset.json"].parent
        cases = training_cases(root)
        fingerprint = files_fingerprint([path for case in cases for path in case[1:]])
        split_of = split_patients([case[0] for case in cases], int(self.split_seed or 0))
        return cached_decode(cache_dir / fingerprint,
                             lambda: self._slices(cases, split_of))

    def _slices(self, cases: list[tuple[str, Path, Path]],
                split_of: dict[str, str]) -> dict[str, SplitArrays]:
        parts: dict[str, dict[str, list[np.ndarray]]] = {
            split: {"image": [], "label": [], "mask": []} for split in SPLITS}
        for patient, image_path, label_path in cases:
            image, labels, _ = case_slices(image_path, label_path, self.native_size,
                                           self.organ_values, self.min_organ_pixels)
            target = parts[split_of[patient]]
            target["image"].append(image)
            target["mask"].append(labels)
            lesion = (labels == self.lesion_value).any(axis=(1, 2))
            target["label"].append(lesion.astype(np.int64))
        out = {}
        for split, fields in parts.items():
            if not any(len(part) for part in fields["image"]):
                raise DataFileError(f"{self.task_folder}: no {split} slice shows the organ; is "
                                    f"this the official release?")
            out[split] = SplitArrays({name: np.concatenate(values)
                                      for name, values in fields.items()})
        return out


def training_cases(root: Path) -> list[tuple[str, Path, Path]]:
    """(patient, image, label) for every labelled case that dataset.json lists."""
    path = root / "dataset.json"
    try:
        listing = json.loads(path.read_text(encoding="utf-8"))
        training = listing["training"]
        cases = [(Path(case["image"]).name.removesuffix(".nii.gz"),
                  root / case["image"], root / case["label"]) for case in training]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataFileError(f"{path} is not a Decathlon dataset.json ({type(exc).__name__}: "
                            f"{exc}); extract the official tar again.") from None
    missing = [str(p) for case in cases for p in case[1:] if not p.is_file()]
    if missing:
        raise DataFileError(f"{root} lacks {len(missing)} file(s) that its dataset.json lists, "
                            f"e.g. {missing[0]}; extract the official tar again.")
    if len(cases) < 3:
        raise DataFileError(f"{path} lists {len(cases)} labelled case(s); at least 3 patients "
                            f"are needed for train, val and test.")
    return cases


def case_slices(image_path: Path, label_path: Path, size: int, organ_values: tuple[int, ...],
                min_organ_pixels: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A case's slices that show the organ, padded and resized to `size`: CT (int16 HU),
    labels (uint8), and the stored pixel size in mm (from the NIfTI header)."""
    import nibabel as nib

    image, labels = ct_and_labels(image_path, label_path)
    spacing = float(nib.load(str(image_path)).header.get_zooms()[0])
    pixel_mm = spacing * max(image.shape[1:]) / size
    image = resize_array(pad_to_square(image, AIR_HU), size, "area")
    labels = resize_array(pad_to_square(labels, 0), size, "nearest")
    keep = np.isin(labels, organ_values).sum(axis=(1, 2)) >= min_organ_pixels
    return image[keep], labels[keep], pixel_mm


def ct_and_labels(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A case's CT (int16 HU) and label map (uint8) as ``(slices, H, W)`` in display order."""
    try:
        volume, labels = read_nifti(image_path), read_nifti(label_path)
    except Exception as exc:  # nibabel's many failure types: all mean a damaged file
        raise DataFileError(f"{image_path.name} or its label cannot be read "
                            f"({type(exc).__name__}: {exc}); extract it again.") from None
    if volume.shape != labels.shape or volume.ndim != 3:
        raise DataFileError(f"{image_path.name} has shape {volume.shape} and its label "
                            f"{labels.shape}; they must be the same 3D grid.")
    ct = np.clip(np.rint(volume), *HU_LIMITS).astype(np.int16)
    # (x, y, z) in RAS -> (z, y', x): axial slices, anterior up, patient's right on the right
    return (np.ascontiguousarray(np.flip(ct.transpose(2, 1, 0), axis=1)),
            np.ascontiguousarray(np.flip(np.rint(labels).astype(np.uint8).transpose(2, 1, 0),
                                         axis=1)))


class DecathlonLiver(DecathlonTask):
    name: ClassVar[str] = "msd-liver"
    summary: ClassVar[str] = ("Medical Segmentation Decathlon Task03 liver CT (131 labelled "
                              "patients): liver and tumour masks, patient-level splits (real "
                              "data, CC BY-SA 4.0)")
    modality: ClassVar[str] = "CT (portal venous phase)"
    native_size: ClassVar[int] = 128
    task_folder: ClassVar[str] = "Task03_Liver"
    organ_values: ClassVar[tuple[int, ...]] = (1, 2)
    lesion_value: ClassVar[int] = 2
    mask_names: ClassVar[tuple[str, ...]] = ("background", "liver", "lesion")
    window: ClassVar[tuple[float, float]] = (40.0, 400.0)  # abdomen, as the phantom
