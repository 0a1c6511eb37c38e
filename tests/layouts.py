"""Small generated copies of public datasets in their exact official layouts (file names,
folders, formats, dtypes), for tests that must never need the network."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np


def _ellipse(shape: tuple[int, int], centre: tuple[float, float],
             radii: tuple[float, float]) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return ((yy - centre[0]) / radii[0]) ** 2 + ((xx - centre[1]) / radii[1]) ** 2 <= 1


def write_msd_liver(root: Path, patients: int = 6, size: int = 48, slices: int = 8,
                    seed: int = 0) -> Path:
    """``Task03_Liver/`` as the Decathlon releases it: dataset.json, imagesTr and labelsTr
    NIfTI (int16 HU CT, uint8 labels 0/1/2), and an unlabelled imagesTs case."""
    rng = np.random.default_rng(seed)
    task = root / "msd" / "Task03_Liver"
    (task / "imagesTr").mkdir(parents=True)
    (task / "labelsTr").mkdir()
    (task / "imagesTs").mkdir()
    training = []
    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    for patient in range(patients):
        ct = np.full((size, size, slices), -1000, np.int16)
        labels = np.zeros((size, size, slices), np.uint8)
        for z in range(slices):
            body = _ellipse((size, size), (size / 2, size / 2), (size * 0.45, size * 0.4))
            liver = _ellipse((size, size), (size * 0.45, size * 0.4), (size * 0.2, size * 0.15))
            ct[..., z][body] = 40
            ct[..., z][liver] = 100
            labels[..., z][liver] = 1
            if (patient + z) % 3 == 0 and z > 0:
                tumour = _ellipse((size, size), (size * 0.45, size * 0.4), (4, 4))
                ct[..., z][tumour] = 20
                labels[..., z][tumour] = 2
        ct = (ct + rng.normal(0, 10, ct.shape)).round().astype(np.int16)
        ct[..., 0][:] = -1000  # one slice outside the liver: never a sample
        labels[..., 0] = 0
        name = f"liver_{patient}.nii.gz"
        nib.save(nib.Nifti1Image(ct, affine), str(task / "imagesTr" / name))
        nib.save(nib.Nifti1Image(labels, affine), str(task / "labelsTr" / name))
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    nib.save(nib.Nifti1Image(np.zeros((size, size, 2), np.int16), affine),
             str(task / "imagesTs" / "liver_200.nii.gz"))
    listing = {"name": "Liver", "description": "Liver and tumour segmentation",
               "tensorImageSize": "3D", "modality": {"0": "CT"},
               "labels": {"0": "background", "1": "liver", "2": "cancer"},
               "numTraining": patients, "numTest": 1, "training": training,
               "test": ["./imagesTs/liver_200.nii.gz"]}
    (task / "dataset.json").write_text(json.dumps(listing, indent=4))
    return task


def write_drive(root: Path, seed: int = 0) -> Path:
    """``DRIVE/`` as released: 565 x 584 RGB TIFF photographs, GIF vessel maps (0/255) and
    GIF field-of-view masks, training 21-40 and test 01-20."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = root / "drive" / "DRIVE"
    shape = (584, 565)
    fov = _ellipse(shape, (292, 282), (270, 265))
    for folder, numbers in (("training", range(21, 41)), ("test", range(1, 21))):
        for sub in ("images", "1st_manual", "mask"):
            (base / folder / sub).mkdir(parents=True, exist_ok=True)
        for number in numbers:
            vessels = np.zeros(shape, bool)
            for _ in range(6):
                row = rng.integers(100, 480)
                vessels[row: row + 3, 60:500] = True
            vessels &= fov
            photo = np.zeros((*shape, 3), np.uint8)
            photo[fov] = (200, 90, 40)
            photo[vessels] = (120, 30, 20)
            stem = f"{number:02d}_{folder}"
            Image.fromarray(photo).save(base / folder / "images" / f"{stem}.tif")
            Image.fromarray((vessels * 255).astype(np.uint8)).save(
                base / folder / "1st_manual" / f"{number:02d}_manual1.gif")
            Image.fromarray((fov * 255).astype(np.uint8)).save(
                base / folder / "mask" / f"{stem}_mask.gif")
    return base


def write_synthrad(root: Path, anatomy: str = "brain", patients: int = 5,
                   shape: tuple[int, int, int] = (40, 36, 6), seed: int = 0) -> Path:
    """``Task1/<anatomy>/<patient>/{mr,ct,mask}.nii.gz`` as SynthRAD2023 releases them:
    float32 MR, int16 CT in HU and a uint8 body mask on one grid."""
    rng = np.random.default_rng(seed)
    base = root / "synthrad2023" / "Task1" / anatomy
    affine = np.diag([1.0, 1.0, 2.5, 1.0])
    for index in range(patients):
        patient = base / f"1{anatomy[0].upper()}A{index:03d}"
        patient.mkdir(parents=True)
        body = np.stack([_ellipse(shape[:2], (shape[0] / 2, shape[1] / 2),
                                  (shape[0] * 0.4, shape[1] * 0.4))] * shape[2], axis=-1)
        bone = np.stack([_ellipse(shape[:2], (shape[0] / 2, shape[1] / 2), (5, 5))] * shape[2],
                        axis=-1)
        ct = np.where(body, 30, -1000) + np.where(bone, 900, 0) + rng.normal(0, 5, shape)
        mr = np.where(body, 600 * (1 + index / 10), 0) - np.where(bone, 500, 0)
        mr = np.clip(mr + rng.normal(0, 5, shape), 0, None)
        nib.save(nib.Nifti1Image(mr.astype(np.float32), affine), str(patient / "mr.nii.gz"))
        nib.save(nib.Nifti1Image(ct.round().astype(np.int16), affine),
                 str(patient / "ct.nii.gz"))
        nib.save(nib.Nifti1Image(body.astype(np.uint8), affine), str(patient / "mask.nii.gz"))
    return base


def write_mayo_ldct(root: Path, patients: int = 4, slices: int = 3,
                    thickness: str = "3mm") -> Path:
    """``mayo-ldct/<patient>/{full,quarter}_<thickness>/*.IMA``: real DICOM (pydicom's CT
    file, every tag kept) rewritten per slice, full dose smooth and quarter dose noisy,
    written in shuffled order so pairing must use the table position."""
    import warnings

    import pydicom
    from pydicom.data import get_testdata_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    rng = np.random.default_rng(0)
    base = root / "mayo-ldct"
    for index in range(patients):
        patient = f"L{100 + index:03d}"
        for z in rng.permutation(slices):
            clean = np.roll(source.pixel_array, 5 * z + 11 * index, axis=0)
            noisy = clean + rng.normal(0, 30, clean.shape)
            for dose, pixels in (("full", clean), ("quarter", noisy)):
                folder = base / patient / f"{dose}_{thickness}"
                folder.mkdir(parents=True, exist_ok=True)
                ds = source.copy()
                ds.PixelData = np.clip(pixels, 0, 4000).astype(np.int16).tobytes()
                ds.ImagePositionPatient = [0.0, 0.0, float(z) * 3.0]
                ds.InstanceNumber = int(z) + 1
                tag = "FD" if dose == "full" else "QD"
                ds.save_as(folder / f"{patient}_{tag}_3_1.CT.0001.{z + 1:04d}.IMA")
    return base
