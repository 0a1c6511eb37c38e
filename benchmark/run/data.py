"""Turning a registered dataset into the tensors of one run, every declared field checked,
hashed, converted and resized the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from medbench.api.data import SPLITS, Field, Split, SplitArrays
from medbench.api.dataset import DatasetSpec
from medbench.api.errors import DatasetIntegrityError, MedbenchError
from medbench.api.preprocess import PREPROCESSING_VERSION, resize
from medbench.api.sources import FileDataset
from medbench.record.schema import DatasetInfo, SplitInfo
from medbench.run.datafiles import LocatedFiles


def dataset_cache(dataset: DatasetSpec, root: Path, files: LocatedFiles | None = None) -> Path:
    """The folder that belongs to one dataset version inside the datasets cache; for a
    file-backed dataset also to its files' actual checksums and the preprocessing version,
    so that a changed file or a changed preprocessing path never reads a stale cache."""
    if files is None:
        return root / f"{dataset.name}-{dataset.version}"
    return root / f"{dataset.name}-{dataset.version}-p{PREPROCESSING_VERSION}-{files.key()}"


def load_dataset(dataset: DatasetSpec, root: Path, notices: list[str],
                 files: LocatedFiles | None = None, splits: tuple[str, ...] = SPLITS,
                 ) -> tuple[dict[str, SplitArrays], dict[str, SplitInfo]]:
    """Build (or read from the cache) and verify `splits` (default: every split); heal a
    broken cache once. Only the splits asked for are returned and hashed.

    If what the cache gives fails to load, or disagrees with the declared fields or the
    manifest, the dataset's cache folder is emptied and built again from the definition.
    Only data that still disagrees is an error.
    """
    folder = dataset_cache(dataset, root, files)
    try:
        return _built_and_verified(dataset, folder, files, splits)
    except MedbenchError as exc:
        if not isinstance(exc, DatasetIntegrityError):
            raise
        problem = str(exc)
    except Exception as exc:  # a cache that cannot even be read
        problem = f"{type(exc).__name__}: {exc}"
    if not folder.exists():
        raise DatasetIntegrityError(f"Building dataset '{dataset.name}' failed: {problem}")
    shutil.rmtree(folder, ignore_errors=True)
    notices.append(f"The cache of dataset '{dataset.name}' {dataset.version} in {folder} was "
                   f"broken ({problem.rstrip('.')}); rebuilt it from the definition.")
    try:
        return _built_and_verified(dataset, folder, files, splits)
    except DatasetIntegrityError as exc:
        raise DatasetIntegrityError(f"{str(exc).rstrip('.')}, even after rebuilding {folder} "
                                    f"from the definition.") from None


def _built_and_verified(dataset: DatasetSpec, folder: Path, files: LocatedFiles | None,
                        splits: tuple[str, ...],
                        ) -> tuple[dict[str, SplitArrays], dict[str, SplitInfo]]:
    built = build_arrays(dataset, folder, files)
    check_fields(dataset, built)
    arrays = {split: built[split] for split in splits}
    del built  # the splits not asked for are freed here
    return arrays, verify_against_manifest(dataset, arrays, splits)


def build_arrays(dataset: DatasetSpec, folder: Path,
                 files: LocatedFiles | None) -> dict[str, SplitArrays]:
    """`build` for a generated dataset, `decode` with the located files for a file-backed
    one. A DataFileError (a file that is not the official release) is the user's to act
    on; the harness does not try to heal it by rebuilding."""
    if isinstance(dataset, FileDataset):
        if files is None:
            raise MedbenchError(f"Dataset '{dataset.name}' is decoded from files, but none "
                                f"were located; plan the run first.")
        return dataset.decode(files.paths(), folder)
    return dataset.build(folder)


def check_fields(dataset: DatasetSpec, arrays: dict[str, SplitArrays]) -> None:
    """Every split holds exactly the declared fields, with their dtype and shape."""
    declared = dataset.field_names
    for split in SPLITS:
        if split not in arrays:
            raise DatasetIntegrityError(f"Dataset '{dataset.name}' built no '{split}' split.")
        built = arrays[split]
        if set(built.arrays) != set(declared):
            raise DatasetIntegrityError(
                f"Dataset '{dataset.name}' split '{split}' has fields "
                f"{sorted(built.arrays)}, but declares {sorted(declared)}.")
        lengths = {name: len(array) for name, array in built.arrays.items()}
        if len(set(lengths.values())) != 1:
            raise DatasetIntegrityError(
                f"Dataset '{dataset.name}' split '{split}' has fields of different lengths: "
                f"{lengths}.")
        for spec in dataset.fields:
            problem = _array_problem(spec, built[spec.name], dataset.native_size)
            if problem:
                raise DatasetIntegrityError(
                    f"Dataset '{dataset.name}' split '{split}' field '{spec.name}': {problem}.")


def _array_problem(spec: Field, array: np.ndarray, size: int) -> str | None:
    if str(array.dtype) != spec.dtype:
        return f"dtype {array.dtype}, declared {spec.dtype}"
    if spec.spatial:
        expected = (size, size) if spec.channels == 1 else (spec.channels, size, size)
        if tuple(array.shape[1:]) not in (expected, (1, size, size)):
            return f"shape {array.shape}, expected (N, *{expected})"
    elif spec.kind == "label" and array.ndim != 1:
        return f"shape {array.shape}, expected (N,)"
    return None


def verify_against_manifest(dataset: DatasetSpec, arrays: dict[str, SplitArrays],
                            splits: tuple[str, ...] = SPLITS) -> dict[str, SplitInfo]:
    """Hash `splits`, field by field, and compare with the committed manifest."""
    manifest = dataset.manifest()
    infos = {}
    for split in splits:
        built = arrays[split]
        fields = {name: built.field_sha256(name) for name in dataset.field_names}
        digest = built.sha256(dataset.field_names)
        pinned = manifest.get(split)
        if pinned is None:  # a folder release: its size is known once it is decoded
            infos[split] = SplitInfo(len(built), digest, fields)
            continue
        if len(built) != pinned.size and not pinned.sha256:
            raise DatasetIntegrityError(
                f"Dataset '{dataset.name}' {dataset.version} split '{split}' has {len(built)} "
                f"samples; the official split has {pinned.size}. These are not the official "
                f"files or splits, so results would not be comparable.")
        if pinned.sha256 and (digest != pinned.sha256 or len(built) != pinned.size):
            changed = [name for name, sha in fields.items()
                       if pinned.fields and pinned.fields.get(name) != sha]
            which = f" (field(s) {', '.join(changed)} differ)" if changed else ""
            raise DatasetIntegrityError(
                f"Dataset '{dataset.name}' {dataset.version} split '{split}' does not match its "
                f"manifest{which}: sha256 {digest[:12]}… vs pinned {pinned.sha256[:12]}…, "
                f"{len(built)} vs {pinned.size} samples; results would not be comparable. "
                f"Delete the dataset cache and rebuild, or report it.")
        infos[split] = SplitInfo(len(built), digest, fields)
    return infos


def to_split(name: str, arrays: SplitArrays, dataset: DatasetSpec, image_size: int) -> Split:
    """Stored arrays -> tensors at the budget's image size, as Field documents per kind."""
    tensors = {spec.name: _to_tensor(spec, arrays[spec.name], image_size)
               for spec in dataset.fields}
    return Split(name, tensors, dataset.info(image_size))


def _to_tensor(spec: Field, array: np.ndarray, image_size: int) -> torch.Tensor:
    if array.dtype in (np.uint16, np.uint32):  # torch has few kernels for these
        array = array.astype(np.int64)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if spec.kind == "label":
        return tensor.long()
    if spec.kind == "scalar":
        return tensor.float()
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    if spec.kind == "image":
        tensor = spec.to_unit(tensor)
    tensor = resize(tensor, image_size, "nearest" if spec.resize == "nearest" else "area")
    if spec.kind == "image":
        tensor = tensor.clamp_(0.0, 1.0)
    return tensor.contiguous()


def dataset_info(dataset: DatasetSpec, splits: dict[str, SplitInfo], image_size: int,
                 files: LocatedFiles | None = None) -> DatasetInfo:
    return DatasetInfo(
        name=dataset.name, version=dataset.version, image_size=image_size,
        pixel_spacing_mm=dataset.info(image_size).pixel_spacing_mm,
        fields={spec.name: spec.describe() for spec in dataset.fields},
        splits=splits,
        licence=dataset.licence, citation=dataset.citation,
        noncommercial=dataset.noncommercial, preprocessing=PREPROCESSING_VERSION,
        source_files=files.describe() if files else {},
        verified=files.verified if files else True,
        split_seed=getattr(dataset, "split_seed", None),
        synthetic=dataset.synthetic,
    )
