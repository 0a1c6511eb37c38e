"""MedMNIST v2 and MedMNIST+: the twelve 2D datasets at 28, 64, 128 and 224 px.

One registered dataset per file, named ``<flag>-<size>`` (``pneumoniamnist-64``), so a name
says exactly which published file a run read. Splits and labels are MedMNIST's own, straight
from the ``.npz`` keys; every file is checked against the ``INFO`` table (keys, dtypes,
shapes, per-split counts, label values) before anything is cached, which catches the
unofficial re-splits that circulate.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

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
)
from medbench.datasets.medmnist.info import medmnist_info, size_suffix

VERSION = "1.0.0"  # of medbench's decoding; the files' MD5s pin the content
CHEST = "chestmnist"
CHEST_CLASSES = ("no finding", "finding")
# The class that means "no abnormality", for abnormality detection (train on it alone).
NORMAL_CLASSES = {
    "pneumoniamnist": "normal",
    "octmnist": "normal",
    "breastmnist": "normal, benign",  # MedMNIST merges benign and normal into one class
    "retinamnist": "0",  # diabetic retinopathy grade 0: no retinopathy
    CHEST: "no finding",
}
MODALITIES = {
    "pathmnist": "colon pathology (H&E)", "chestmnist": "chest X-ray",
    "dermamnist": "dermatoscopy", "octmnist": "retinal OCT",
    "pneumoniamnist": "paediatric chest X-ray", "retinamnist": "colour fundus photography",
    "breastmnist": "breast ultrasound", "bloodmnist": "blood cell microscopy",
    "tissuemnist": "kidney cortex microscopy", "organamnist": "abdominal CT (axial)",
    "organcmnist": "abdominal CT (coronal)", "organsmnist": "abdominal CT (sagittal)",
}
CITATION = (
    "Yang J, Shi R, Wei D, et al. MedMNIST v2: a large-scale lightweight benchmark for 2D and "
    "3D biomedical image classification. Scientific Data 10:41, 2023; and the source dataset "
    "named in the MedMNIST paper")
CITATION_PLUS = (
    "; for 64-224 px: Doerrich S, Di Salvo F, Brockmann J, Ledig C. Rethinking model "
    "prototyping through the MedMNIST+ dataset collection. Scientific Reports 15, 2025")


class MedMNIST(FileDataset):
    """One MedMNIST file, e.g. ``pneumoniamnist_64.npz``, as a medbench dataset."""

    data_folder: ClassVar[str] = "medmnist"

    def __init__(self, flag: str, size: int, entry: Mapping[str, Any] | None = None) -> None:
        """`entry` replaces the INFO row, for tests on small files in the official layout."""
        table, package_version = medmnist_info()
        self.flag, self.size = flag, size
        self.entry = dict(entry) if entry is not None else table[flag]
        entry = self.entry
        self.name = f"{flag}-{size}"
        self.version = VERSION
        self.native_size = size
        self.modality = MODALITIES.get(flag, "medical images")
        self.licence = entry["license"]
        self.noncommercial = "NC" in entry["license"].upper().replace("-", " ").split()
        self.citation = CITATION + (CITATION_PLUS if size != 28 else "")
        self.labels = tuple(entry["label"][str(index)] for index in range(len(entry["label"])))
        classes = CHEST_CLASSES if flag == CHEST else self.labels
        fields = [Field("image", "image", "uint8", channels=int(entry["n_channels"]),
                        units="8-bit intensity as MedMNIST publishes it",
                        description=f"{self.modality}, {size} x {size} px")]
        fields.append(Field("label", "label", "int64", value_names=classes,
                            description=("any of the 14 findings present (derived: "
                                         "ChestMNIST is multi-label)") if flag == CHEST
                            else f"MedMNIST's {entry['task']} label"))
        if flag == CHEST:
            fields.append(Field("findings", "scalar", "uint8",
                                description="the 14 binary findings: " + ", ".join(self.labels)))
        self.fields = tuple(fields)
        self.normal_class = NORMAL_CLASSES.get(flag)
        self.summary = (f"MedMNIST {entry['python_class']} at {size} px: {self.modality}, "
                        f"{len(classes)} classes, official splits (real data, "
                        f"{entry['license']}, medmnist {package_version})")

    @property
    def file_name(self) -> str:
        return f"{self.flag}{size_suffix(self.size)}.npz"

    def data_files(self) -> tuple[DataFile, ...]:
        suffix = size_suffix(self.size)
        return (DataFile(self.file_name, "md5:" + self.entry[f"MD5{suffix}"],
                         url=self.entry[f"url{suffix}"]),)

    def conventional_dirs(self) -> Sequence[Path]:
        return (Path("~/.medmnist"),)

    def manifest(self) -> dict[str, SplitManifest]:
        return {split: SplitManifest(int(self.entry["n_samples"][split]), "")
                for split in SPLITS}

    def card(self) -> str:
        base = super().card()
        return (f"# {self.name}\n\n{self.entry['description']}\n\n"
                f"- Licence: {self.licence}\n- Cite: {self.citation}\n\n{base}")

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        path = files[self.file_name]
        return cached_decode(cache_dir, lambda: read_official_npz(path, self))


def read_official_npz(path: Path, dataset: MedMNIST) -> dict[str, SplitArrays]:
    """Every split of a MedMNIST file, checked against INFO; DataFileError if it differs."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}  # each decompressed once
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DataFileError(f"{path} cannot be read ({type(exc).__name__}: {exc}); it is "
                            f"truncated or damaged. Delete it and fetch again "
                            f"(`medbench datasets fetch {dataset.name}`).") from None
    problem = _layout_problem(arrays, dataset)
    if problem:
        raise DataFileError(f"{path} is not the official {dataset.file_name}: {problem}. "
                            f"Fetch the official file (`medbench datasets fetch "
                            f"{dataset.name}`).")
    return {split: _split(arrays[f"{split}_images"], arrays[f"{split}_labels"], dataset)
            for split in SPLITS}


def _layout_problem(npz: Mapping[str, np.ndarray], dataset: MedMNIST) -> str | None:
    expected = {f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels")}
    if set(npz) != expected:
        return f"keys {sorted(npz)}, expected {sorted(expected)}"
    channels, size = int(dataset.entry["n_channels"]), dataset.size
    width = len(dataset.labels) if dataset.flag == CHEST else 1
    image_shape = (size, size) if channels == 1 else (size, size, channels)
    for split in SPLITS:
        count = int(dataset.entry["n_samples"][split])
        images, labels = npz[f"{split}_images"], npz[f"{split}_labels"]
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            return f"{split} dtypes {images.dtype}/{labels.dtype}, expected uint8/uint8"
        if images.shape != (count, *image_shape):
            return (f"{split}_images has shape {images.shape}, the official split is "
                    f"{(count, *image_shape)}")
        if labels.shape != (count, width):
            return f"{split}_labels has shape {labels.shape}, expected {(count, width)}"
        high = 1 if dataset.flag == CHEST else len(dataset.labels) - 1
        if labels.size and int(labels.max()) > high:
            return f"{split}_labels holds {int(labels.max())}, above the highest class {high}"
    return None


def _split(images: np.ndarray, labels: np.ndarray, dataset: MedMNIST) -> SplitArrays:
    if images.ndim == 4:  # (N, H, W, C) as published -> (N, C, H, W) as medbench stores
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    if dataset.flag == CHEST:
        return SplitArrays({"image": images, "label": labels.any(axis=1).astype(np.int64),
                            "findings": labels})
    return SplitArrays({"image": images, "label": labels[:, 0].astype(np.int64)})
