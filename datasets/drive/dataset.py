"""DRIVE (Digital Retinal Images for Vessel Extraction) in its official layout.

The layout, as released::

    DRIVE/training/images/21_training.tif ... 40_training.tif   565 x 584 RGB
    DRIVE/training/1st_manual/21_manual1.gif                      vessels, 0 or 255
    DRIVE/training/mask/21_training_mask.gif                      field of view
    DRIVE/test/images/01_test.tif ... 20_test.tif, test/1st_manual, test/mask (the same)

The official test set is the test split; the 20 training images (one per subject) are split
16/4 into train and val by a fixed seed. Images are padded to square with black (outside
the field of view) and resized to the stored size with the shared anti-aliased resizer.
The field of view is kept as a mask field, so the conditional task scores inside it.
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
    resize_array,
)

SIZES = {"training": range(21, 41), "test": range(1, 21)}


def _paths(root: Path, folder: str, number: int) -> tuple[Path, Path, Path]:
    stem = f"{number:02d}_{folder}"
    return (root / folder / "images" / f"{stem}.tif",
            root / folder / "1st_manual" / f"{number:02d}_manual1.gif",
            root / folder / "mask" / f"{stem}_mask.gif")


def _grey(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class Drive(FileDataset):
    name: ClassVar[str] = "drive"
    version: ClassVar[str] = "1.0.0"
    summary: ClassVar[str] = ("DRIVE colour fundus photographs with manual vessel maps and "
                              "field-of-view masks, official test set (real data)")
    modality: ClassVar[str] = "colour fundus photography"
    native_size: ClassVar[int] = 512
    data_folder: ClassVar[str] = "drive"
    licence: ClassVar[str] = ("DRIVE terms of use: research use, registration at "
                              "drive.grand-challenge.org; no redistribution")
    noncommercial: ClassVar[bool] = True
    citation: ClassVar[str] = (
        "Staal J, Abramoff MD, Niemeijer M, Viergever MA, van Ginneken B. Ridge-based vessel "
        "segmentation in color images of the retina. IEEE TMI 23(4):501-509, 2004")
    split_seed: ClassVar[int | None] = 20261130
    fields: ClassVar[tuple[Field, ...]] = (
        Field("vessels", "image", "uint8", units="share of the pixel covered by vessel (0-255)",
              description="the first observer's manual vessel map (1st_manual)"),
        Field("fundus", "image", "uint8", channels=3, units="8-bit RGB",
              description="the colour fundus photograph"),
        Field("fov", "mask", "uint8", value_names=("outside", "field of view"),
              description="the camera's field of view (mask/*.gif)"),
    )

    def data_files(self) -> tuple[DataFile, ...]:
        return (DataFile("DRIVE/test/mask/01_test_mask.gif", "",
                         how_to_get="register at https://drive.grand-challenge.org, download "
                                    "DRIVE and unzip it into the data folder"),)

    def manifest(self) -> dict[str, SplitManifest]:
        return {"train": SplitManifest(16, ""), "val": SplitManifest(4, ""),
                "test": SplitManifest(20, "")}

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        root = files["DRIVE/test/mask/01_test_mask.gif"].parents[2]
        cases = {(folder, number): _paths(root, folder, number)
                 for folder, numbers in SIZES.items() for number in numbers}
        missing = [str(p) for paths in cases.values() for p in paths if not p.is_file()]
        if missing:
            raise DataFileError(f"{root} lacks {len(missing)} file(s) of the DRIVE layout, e.g. "
                                f"{missing[0]}; unzip the official release again.")
        fingerprint = files_fingerprint([p for paths in cases.values() for p in paths])
        training = [str(number) for number in SIZES["training"]]
        split_of = _train_val(training, int(self.split_seed or 0))
        return cached_decode(cache_dir / fingerprint,
                             lambda: self._read(cases, split_of))

    def _read(self, cases: dict[tuple[str, int], tuple[Path, Path, Path]],
              split_of: dict[str, str]) -> dict[str, SplitArrays]:
        parts: dict[str, dict[str, list[np.ndarray]]] = {
            split: {"vessels": [], "fundus": [], "fov": []} for split in SPLITS}
        for (folder, number), (image, manual, mask) in sorted(cases.items()):
            split = "test" if folder == "test" else split_of[str(number)]
            try:
                fundus = pad_to_square(np.moveaxis(_rgb(image), -1, 0), 0)
                vessels = pad_to_square(_grey(manual), 0)
                fov = pad_to_square((_grey(mask) > 127).astype(np.uint8), 0)
            except OSError as exc:
                raise DataFileError(f"{image.name} or its maps cannot be read ({exc}); unzip "
                                    f"the official release again.") from None
            size = self.native_size
            parts[split]["fundus"].append(resize_array(fundus[None], size, "area"))
            parts[split]["vessels"].append(resize_array(vessels[None], size, "area"))
            parts[split]["fov"].append(resize_array(fov[None], size, "nearest"))
        return {split: SplitArrays({name: np.concatenate(values)
                                    for name, values in fields.items()})
                for split, fields in parts.items()}


def _train_val(subjects: list[str], seed: int) -> dict[str, str]:
    """The 20 training subjects: 16 train, 4 val, by a seeded shuffle."""
    order = np.random.default_rng(seed).permutation(len(subjects))
    return {subjects[index]: "val" if rank < 4 else "train" for rank, index in enumerate(order)}
