"""The AAPM/Mayo Clinic Low-Dose CT Grand Challenge (2016) in its released layout.

The layout, as the challenge released it (one folder per patient)::

    L067/full_3mm/L067_FD_3_1.CT.0001.0001.<...>.IMA       full-dose DICOM, one per slice
    L067/quarter_3mm/L067_QD_3_1.CT.0001.0001.<...>.IMA    quarter-dose, the same slices
    L067/full_1mm/..., L067/quarter_1mm/...                 1 mm reconstructions

Full- and quarter-dose slices are paired by their position along the table
(ImagePositionPatient z, else InstanceNumber); a patient whose two series do not pair one to
one is refused. Patients are split 70/10/20 into train, val and test by a fixed seed. CT is
read through the DICOM modality LUT (HU), clipped to [-1024, 3000], and resized from 512 to
the stored size with the shared anti-aliased resizer.
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
    read_dicom,
    resize_array,
    split_patients,
)

HU_RANGE = (-1024.0, 3000.0)
SUFFIXES = (".ima", ".dcm")


def series(folder: Path) -> list[Path]:
    """A series' slice files ordered along the table."""
    import pydicom

    files = [p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES]

    def position(path: Path) -> float:
        header = pydicom.dcmread(str(path), stop_before_pixels=True)
        where = getattr(header, "ImagePositionPatient", None)
        return float(where[2]) if where is not None else float(header.InstanceNumber)

    try:
        return sorted(files, key=position)
    except Exception as exc:  # pydicom's failure types: all mean a damaged file
        raise DataFileError(f"{folder}: a slice's header cannot be read "
                            f"({type(exc).__name__}: {exc}).") from None


class MayoLowDoseCT(FileDataset):
    """Full- and quarter-dose CT of the same patients at one slice thickness."""

    data_folder: ClassVar[str] = ""  # the release's folder itself is the marker below
    version: ClassVar[str] = "1.0.0"
    licence: ClassVar[str] = ("TCIA restricted licence / AAPM challenge data agreement: "
                              "research use, no redistribution")
    noncommercial: ClassVar[bool] = True
    citation: ClassVar[str] = (
        "McCollough CH, Bartley AC, Carter RE, et al. Low-dose CT for the detection and "
        "classification of metastatic liver lesions: results of the 2016 Low Dose CT Grand "
        "Challenge. Medical Physics 44(10):e339-e352, 2017")
    modality: ClassVar[str] = "CT (full and quarter dose, abdomen)"
    split_seed: ClassVar[int | None] = 20261130
    native_size: ClassVar[int] = 256
    thickness: ClassVar[str]  # "1mm" or "3mm"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("low_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(40.0, 400.0), description="quarter-dose reconstruction"),
        Field("full_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(40.0, 400.0), description="full-dose reconstruction of the same slice"),
    )

    def data_files(self) -> tuple[DataFile, ...]:
        return (DataFile("mayo-ldct/", "", how_to_get=(
            "obtain the 2016 Low Dose CT Grand Challenge data (TCIA, LDCT-and-Projection-data "
            "or the AAPM release) and put its patient folders into the data folder")),)

    def manifest(self) -> dict[str, SplitManifest]:
        return {}

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        root = files["mayo-ldct/"]
        pairs = {}
        for patient in sorted(p for p in root.iterdir() if p.is_dir()):
            full = patient / f"full_{self.thickness}"
            quarter = patient / f"quarter_{self.thickness}"
            if full.is_dir() and quarter.is_dir():
                pairs[patient.name] = (series(full), series(quarter))
        if len(pairs) < 3:
            raise DataFileError(f"{root} holds {len(pairs)} patient folder(s) with "
                                f"full_{self.thickness} and quarter_{self.thickness}; at least "
                                f"3 are needed for train, val and test.")
        unpaired = [f"{name} ({len(f)} full, {len(q)} quarter)"
                    for name, (f, q) in pairs.items() if len(f) != len(q) or not f]
        if unpaired:
            raise DataFileError(f"Full- and quarter-dose series do not pair one to one: "
                                f"{', '.join(unpaired[:3])}.")
        fingerprint = files_fingerprint([p for f, q in pairs.values() for p in f + q])
        split_of = split_patients(list(pairs), int(self.split_seed or 0))
        return cached_decode(cache_dir / fingerprint,
                             lambda: self._read(pairs, split_of))

    def _read(self, pairs: dict[str, tuple[list[Path], list[Path]]],
              split_of: dict[str, str]) -> dict[str, SplitArrays]:
        parts: dict[str, dict[str, list[np.ndarray]]] = {
            split: {"low_dose": [], "full_dose": []} for split in SPLITS}
        for patient, (full, quarter) in pairs.items():
            for name, files in (("full_dose", full), ("low_dose", quarter)):
                slices = np.stack([self._slice(path) for path in files])
                parts[split_of[patient]][name].append(
                    resize_array(slices, self.native_size, "area"))
        return {split: SplitArrays({name: np.concatenate(values)
                                    for name, values in fields.items()})
                for split, fields in parts.items()}

    @staticmethod
    def _slice(path: Path) -> np.ndarray:
        try:
            hu = read_dicom(path)
        except Exception as exc:  # pydicom's failure types: all mean a damaged file
            raise DataFileError(f"{path} cannot be read ({type(exc).__name__}: {exc}).") \
                from None
        return pad_to_square(np.clip(hu, *HU_RANGE).astype(np.int16), HU_RANGE[0])


class MayoLowDoseCT3mm(MayoLowDoseCT):
    name: ClassVar[str] = "mayo-ldct-3mm"
    summary: ClassVar[str] = ("AAPM/Mayo 2016 Low Dose CT Grand Challenge, 3 mm: quarter- and "
                              "full-dose slices of the same patients (real data)")
    thickness: ClassVar[str] = "3mm"


class MayoLowDoseCT1mm(MayoLowDoseCT):
    name: ClassVar[str] = "mayo-ldct-1mm"
    summary: ClassVar[str] = ("AAPM/Mayo 2016 Low Dose CT Grand Challenge, 1 mm: quarter- and "
                              "full-dose slices of the same patients (real data)")
    thickness: ClassVar[str] = "1mm"
