"""Reading medical image files into arrays: PNG, JPEG and TIFF (Pillow), NIfTI (nibabel)
and DICOM (pydicom). Part of the one preprocessing path (``medbench.api.preprocess``).

Every reader returns the stored values, not a display rendering: 16-bit data stay 16-bit,
DICOM pixel values go through the modality LUT (rescale slope and intercept, so CT is in
HU), and MONOCHROME1 (where 0 is white) is inverted so that brighter is always higher.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
DICOM_SUFFIXES = (".dcm", ".dicom")


def file_format(path: Path) -> str:
    """``image``, ``nifti`` or ``dicom`` by the file's name; ValueError for anything else."""
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if name.endswith(DICOM_SUFFIXES):
        return "dicom"
    if name.endswith(IMAGE_SUFFIXES):
        return "image"
    raise ValueError(f"{path.name} is none of PNG, JPEG, TIFF, NIfTI (.nii, .nii.gz) or "
                     f"DICOM (.dcm)")


def read_slices(path: Path) -> list[np.ndarray]:
    """The 2D images in one file: one for a picture or a single-frame DICOM; one per axial
    slice for a NIfTI volume (in the closest canonical RAS orientation, bottom to top)."""
    kind = file_format(path)
    if kind == "nifti":
        volume = read_nifti(path)
        if volume.ndim == 2:
            return [volume]
        return [volume[:, :, index] for index in range(volume.shape[2])]
    if kind == "dicom":
        return [read_dicom(path)]
    return [read_picture(path)]


def read_picture(path: Path) -> np.ndarray:
    """PNG, JPEG or TIFF as stored: ``(H, W)`` grey (8 or 16 bit) or ``(H, W, 3)`` colour."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode in ("P", "PA", "LA", "RGBA", "CMYK", "YCbCr"):
            image = image.convert("RGB")
        elif image.mode == "1":
            image = image.convert("L")
        array = np.asarray(image)
    if array.dtype == np.int32 and array.size and array.min() >= 0 and array.max() < 2**16:
        array = array.astype(np.uint16)  # Pillow reads 16-bit PNGs as 32-bit "I"
    return array


def read_nifti(path: Path) -> np.ndarray:
    """A NIfTI image's values (scaled by its scl_slope/scl_inter), reoriented to the closest
    canonical (RAS) axes, so that axis 2 runs foot to head; a 4D image is refused."""
    import nibabel as nib

    loaded = nib.load(str(path))
    slope = getattr(loaded.dataobj, "slope", 1.0)
    inter = getattr(loaded.dataobj, "inter", 0.0)
    image = nib.as_closest_canonical(loaded)
    data = np.asanyarray(image.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim > 3:
        raise ValueError(f"{path.name} is a {data.ndim}D image; medbench reads 2D and 3D")
    if data.dtype.kind in "iu" and (slope not in (1, None) or inter not in (0, None)):
        data = np.asarray(image.get_fdata(dtype=np.float32))
    return np.ascontiguousarray(data)


def read_dicom(path: Path) -> np.ndarray:
    """One DICOM frame through its modality LUT (HU for CT), MONOCHROME1 inverted.

    Integer results keep an integer dtype wide enough for them (int16 for CT in HU);
    colour images are returned as ``(H, W, 3)`` RGB.
    """
    import pydicom
    from pydicom.pixels import apply_modality_lut

    dataset = pydicom.dcmread(str(path))
    pixels = dataset.pixel_array
    if int(getattr(dataset, "NumberOfFrames", 1) or 1) > 1:
        raise ValueError(f"{path.name} holds {dataset.NumberOfFrames} frames; medbench "
                         f"reads single-frame DICOM (one file per slice)")
    photometric = str(getattr(dataset, "PhotometricInterpretation", "MONOCHROME2"))
    if int(getattr(dataset, "SamplesPerPixel", 1)) > 1:
        if photometric != "RGB":
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        return np.ascontiguousarray(pixels)
    if photometric == "MONOCHROME1":
        bits = int(dataset.BitsStored)
        if int(getattr(dataset, "PixelRepresentation", 0)) == 0:
            pixels = (2**bits - 1) - pixels.astype(np.int64)
        else:
            pixels = -pixels.astype(np.int64) - 1  # the two's-complement mirror
    values = apply_modality_lut(pixels, dataset)
    if np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values)):
        low, high = float(values.min()), float(values.max())
        for dtype in (np.int16, np.uint16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= low and high <= info.max:
                return values.astype(dtype)
    if values.dtype == np.int64:
        return values.astype(np.int32 if values.min() < 0 or values.max() >= 2**16
                             else np.uint16)
    return values
