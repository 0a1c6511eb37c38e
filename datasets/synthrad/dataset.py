"""SynthRAD2023 Task 1 (MR -> CT) in its official layout, as paired 2D slices.

The layout, as released::

    Task1/brain/<patient>/mr.nii.gz     T1-weighted MR, resampled to the CT grid
    Task1/brain/<patient>/ct.nii.gz     CT in HU
    Task1/brain/<patient>/mask.nii.gz   the body outline, 0 or 1
    Task1/pelvis/<patient>/...          the same

Only the training release has CT, so its patients are split 70/10/20 into train, val and
test by a fixed seed (no patient in two splits). Axial slices with enough body become
samples. CT is clipped to [-1024, 3000] HU as SynthRAD scores it; MR has no units, so each
patient's MR is scaled by its 99.5th percentile inside the body to 0-4095 (documented in the
card). Slices are padded to square (air, MR 0) and resized with the shared resizer.
"""

from __future__ import annotations

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

CT_RANGE = (-1024.0, 3000.0)  # SynthRAD 2023's clip
MR_SCALE = 4095.0  # an MR volume's 99.5th percentile inside the body maps here
MR_PERCENTILE = 99.5
MIN_BODY_SHARE = 0.05  # of the stored slice: fewer body pixels is no sample
VOLUMES = ("mr.nii.gz", "ct.nii.gz", "mask.nii.gz")


class SynthRAD(FileDataset):
    """One SynthRAD2023 Task 1 anatomy (brain or pelvis)."""

    data_folder: ClassVar[str] = "synthrad2023"
    version: ClassVar[str] = "1.0.0"
    licence: ClassVar[str] = "CC BY-NC 4.0"
    noncommercial: ClassVar[bool] = True
    citation: ClassVar[str] = (
        "Thummerer A, van der Bijl E, Galapon A Jr, et al. SynthRAD2023 Grand Challenge "
        "dataset: generating synthetic CT for radiotherapy. Medical Physics 50(7):4664-4674, "
        "2023")
    split_seed: ClassVar[int | None] = 20261130
    native_size: ClassVar[int] = 128
    anatomy: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]] = (
        Field("mr", "image", "uint16", value_range=(0.0, MR_SCALE), units="a.u. (T1-weighted, "
              "scaled per patient)", description="MR slice; each patient's 99.5th percentile "
              "inside the body is 4095"),
        Field("ct", "image", "int16", value_range=CT_RANGE, units="HU", window=(40.0, 400.0),
              description="the paired CT slice, clipped to [-1024, 3000] HU"),
        Field("tissue", "mask", "uint8", value_names=("background", "body"),
              description="SynthRAD's body mask: the pixels that are scored"),
    )

    def data_files(self) -> tuple[DataFile, ...]:
        return (DataFile(f"Task1/{self.anatomy}/", "",
                         how_to_get="register at https://synthrad2023.grand-challenge.org, "
                                    "download the Task 1 training data (Zenodo) and unzip it "
                                    "into the data folder"),)

    def manifest(self) -> dict[str, SplitManifest]:
        return {}  # sizes are known once the user's copy is decoded

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        root = files[f"Task1/{self.anatomy}/"]
        patients = sorted(folder for folder in root.iterdir()
                          if folder.is_dir() and (folder / "ct.nii.gz").exists())
        if len(patients) < 3:
            raise DataFileError(f"{root} holds {len(patients)} patient folder(s) with "
                                f"ct.nii.gz; at least 3 are needed for train, val and test.")
        missing = [str(p / name) for p in patients for name in VOLUMES
                   if not (p / name).is_file()]
        if missing:
            raise DataFileError(f"{root} lacks {len(missing)} file(s) of the SynthRAD layout, "
                                f"e.g. {missing[0]}; unzip the official release again.")
        fingerprint = files_fingerprint([p / name for p in patients for name in VOLUMES])
        split_of = split_patients([p.name for p in patients], int(self.split_seed or 0))
        return cached_decode(cache_dir / fingerprint,
                             lambda: self._slices(patients, split_of))

    def _slices(self, patients: list[Path], split_of: dict[str, str]) -> dict[str, SplitArrays]:
        parts: dict[str, dict[str, list[np.ndarray]]] = {
            split: {"mr": [], "ct": [], "tissue": []} for split in SPLITS}
        size = self.native_size
        for patient in patients:
            mr, ct, body = (axial(read_volume(patient / name)) for name in VOLUMES)
            if not mr.shape == ct.shape == body.shape:
                raise DataFileError(f"{patient.name}: mr, ct and mask have shapes {mr.shape}, "
                                    f"{ct.shape}, {body.shape}; they must share one grid.")
            body = (body > 0.5).astype(np.uint8)
            inside = mr[body == 1]
            scale = float(np.percentile(inside, MR_PERCENTILE)) if inside.size else 1.0
            mr = np.clip(mr / max(scale, 1e-6) * MR_SCALE, 0, MR_SCALE)
            ct = np.clip(np.rint(ct), *CT_RANGE)
            mr = resize_array(pad_to_square(np.rint(mr).astype(np.uint16), 0), size, "area")
            ct = resize_array(pad_to_square(ct.astype(np.int16), CT_RANGE[0]), size, "area")
            body = resize_array(pad_to_square(body, 0), size, "nearest")
            keep = body.mean(axis=(1, 2)) >= MIN_BODY_SHARE
            target = parts[split_of[patient.name]]
            target["mr"].append(mr[keep])
            target["ct"].append(ct[keep])
            target["tissue"].append(body[keep])
        return {split: SplitArrays({name: np.concatenate(values)
                                    for name, values in fields.items()})
                for split, fields in parts.items()}


def read_volume(path: Path) -> np.ndarray:
    try:
        return read_nifti(path).astype(np.float32)
    except Exception as exc:  # nibabel's many failure types: all mean a damaged file
        raise DataFileError(f"{path} cannot be read ({type(exc).__name__}: {exc}); unzip the "
                            f"official release again.") from None


def axial(volume: np.ndarray) -> np.ndarray:
    """(x, y, z) in RAS -> (z, y', x): axial slices, anterior up."""
    return np.ascontiguousarray(np.flip(volume.transpose(2, 1, 0), axis=1))


class SynthRADBrain(SynthRAD):
    name: ClassVar[str] = "synthrad-brain"
    summary: ClassVar[str] = ("SynthRAD2023 Task 1 brain: paired T1 MR and CT with body "
                              "masks, patient-level splits (real data, CC BY-NC 4.0)")
    modality: ClassVar[str] = "T1-weighted MR + CT"
    anatomy: ClassVar[str] = "brain"


class SynthRADPelvis(SynthRAD):
    name: ClassVar[str] = "synthrad-pelvis"
    summary: ClassVar[str] = ("SynthRAD2023 Task 1 pelvis: paired MR and CT with body masks, "
                              "patient-level splits (real data, CC BY-NC 4.0)")
    modality: ClassVar[str] = "MR + CT"
    anatomy: ClassVar[str] = "pelvis"
