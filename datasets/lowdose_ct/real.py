"""Low-dose CT simulated from real CT: the projection-domain simulator of `physics.py`
applied to the Medical Segmentation Decathlon's liver CT (`msd-liver`).

The acquired slice (clinical dose) is the target. Its attenuation is forward-projected at the
slice's real pixel size, photons are counted at 5 % of the phantom's full dose per ray
(Poisson, by its normal approximation), and the sinogram is reconstructed with filtered
back-projection: the low-dose input. Same cases, slices, patient-level splits and sizes as
`msd-liver`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np

from medbench.api import (
    SPLITS,
    DataFile,
    Field,
    FileDataset,
    SplitArrays,
    SplitManifest,
    cached_decode,
    files_fingerprint,
    split_patients,
)
from medbench.datasets.components.decathlon import DecathlonLiver, case_slices, training_cases
from medbench.datasets.lowdose_ct.physics import (
    LOW_DOSE_PHOTONS,
    line_integrals,
    measure,
    reconstruct,
)

HU_RANGE = (-1024.0, 3000.0)
ROOT_SEED = 20261201


class LowDoseDecathlonLiver(FileDataset):
    name: ClassVar[str] = "lowdose-msd-liver"
    version: ClassVar[str] = "2.0.0"
    summary: ClassVar[str] = ("Low-dose CT simulated in the projection domain (5 % dose, FBP) "
                              "from the Decathlon's real liver CT; the acquired slice is the "
                              "target (real data, CC BY-SA 4.0)")
    modality: ClassVar[str] = "CT (real; low dose simulated)"
    native_size: ClassVar[int] = DecathlonLiver.native_size
    data_folder: ClassVar[str] = DecathlonLiver.data_folder
    licence: ClassVar[str] = DecathlonLiver.licence
    citation: ClassVar[str] = DecathlonLiver.citation
    split_seed: ClassVar[int | None] = DecathlonLiver.split_seed
    fields: ClassVar[tuple[Field, ...]] = (
        Field("low_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(40.0, 400.0),
              description=f"FBP of the slice's projections at {LOW_DOSE_PHOTONS:.0e} photons "
                          f"per ray"),
        Field("full_dose", "image", "int16", value_range=HU_RANGE, units="HU",
              window=(40.0, 400.0), description="the slice as acquired"),
    )

    def data_files(self) -> tuple[DataFile, ...]:
        return DecathlonLiver().data_files()

    def manifest(self) -> dict[str, SplitManifest]:
        return {}

    def card(self) -> str:
        return (f"# {self.name}\n\n{__doc__}\nGetting the data, cases, slices, splits and "
                f"sizes: as `msd-liver` (`medbench datasets info msd-liver`). The simulator: "
                f"`medbench datasets info lowdose-ct`. The pixel size is the case's own "
                f"(NIfTI header) at the stored size, so the noise follows the real anatomy's "
                f"attenuation.\n")

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        liver = DecathlonLiver()
        root = files[liver.data_files()[0].name].parent
        cases = training_cases(root)
        fingerprint = files_fingerprint([path for case in cases for path in case[1:]])
        split_of = split_patients([case[0] for case in cases], int(self.split_seed or 0))
        return cached_decode(cache_dir / fingerprint,
                             lambda: self._simulate(cases, split_of, liver))

    def _simulate(self, cases: list[tuple[str, Path, Path]], split_of: dict[str, str],
                  liver: DecathlonLiver) -> dict[str, SplitArrays]:
        parts: dict[str, dict[str, list[np.ndarray]]] = {
            split: {"low_dose": [], "full_dose": []} for split in SPLITS}
        for index, (patient, image_path, label_path) in enumerate(cases):
            image, _, pixel_mm = case_slices(image_path, label_path, self.native_size,
                                             liver.organ_values, liver.min_organ_pixels)
            rng = np.random.default_rng([ROOT_SEED, index])
            low = [reconstruct(measure(line_integrals(hu, pixel_mm), LOW_DOSE_PHOTONS, rng),
                               self.native_size, pixel_mm) for hu in image]
            stored = np.clip(np.round(np.asarray(low).reshape(image.shape)), *HU_RANGE)
            parts[split_of[patient]]["low_dose"].append(stored.astype(np.int16))
            parts[split_of[patient]]["full_dose"].append(image)
        return {split: SplitArrays({name: np.concatenate(values)
                                    for name, values in fields.items()})
                for split, fields in parts.items()}
