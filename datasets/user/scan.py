"""A lab's own files, listed in a manifest, checked and turned into splits.

The same code runs when a dataset is registered (`medbench datasets add`) and when a run
decodes it, so the split hashes pinned at registration are the ones a run verifies.
Nothing is registered until every check passes; each problem is one line that names the
offending paths.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medbench.api import (
    DTYPES,
    SPLITS,
    ConfigError,
    DataFileError,
    Field,
    SplitArrays,
    channels_first,
    read_slices,
    resize_array,
    split_patients,
)

COLUMNS = ("path", "patient", "split", "label", "mask", "paired")
SPLIT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}  # of patients, when unassigned
UNLABELLED = "unlabelled"
SHOWN = 3  # offending paths named in one error line

# The field names each task reads, so that a lab's files serve it: path, paired, mask.
TASK_FIELDS: dict[str, tuple[str, str | None, str]] = {
    "synthesis": ("image", None, "mask"),
    "anomaly": ("image", None, "mask"),
    "segmentation": ("image", None, "mask"),
    "translation": ("mr", "ct", "tissue"),
    "translation-unpaired": ("mr", "ct", "tissue"),
    "reconstruction": ("low_dose", "full_dose", "mask"),
}


@dataclass(frozen=True)
class Options:
    """How the files become arrays; stored with the registration."""

    task: str = "synthesis"
    size: int | None = None  # resize every image to size x size (anti-aliased); None: refuse
    channels: int | None = None  # None: as the files are (all must agree)
    window: tuple[float, float] | None = None  # (level, width) mapped to [0, 1]
    classes: tuple[str, ...] | None = None  # the declared label set; None: as found
    normal_class: str | None = None
    mask_names: tuple[str, ...] | None = None
    seed: int = 0  # assigns patients to splits when the manifest has no split column

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "size": self.size, "channels": self.channels,
                "window": list(self.window) if self.window else None,
                "classes": list(self.classes) if self.classes else None,
                "normal_class": self.normal_class,
                "mask_names": list(self.mask_names) if self.mask_names else None,
                "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Options:
        return cls(task=data["task"], size=data["size"], channels=data["channels"],
                   window=tuple(data["window"]) if data["window"] else None,
                   classes=tuple(data["classes"]) if data["classes"] else None,
                   normal_class=data["normal_class"],
                   mask_names=tuple(data["mask_names"]) if data["mask_names"] else None,
                   seed=int(data["seed"]))


@dataclass
class Row:
    path: str
    patient: str
    split: str = ""
    label: str = ""
    mask: str = ""
    paired: str = ""

    def files(self) -> list[str]:
        return [name for name in (self.path, self.mask, self.paired) if name]


@dataclass
class Scanned:
    """A dataset as read: its fields, splits and what identifies them."""

    fields: tuple[Field, ...]
    splits: dict[str, SplitArrays]
    native_size: int
    classes: tuple[str, ...]
    normal_class: str | None
    rows: list[Row] = field(default_factory=list)


def _fail(problem: str, paths: Sequence[str]) -> DataFileError:
    shown = ", ".join(paths[:SHOWN])
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return DataFileError(f"{problem}: {shown}{more}.")


def read_manifest(path: Path) -> list[Row]:
    """The manifest's rows; a missing column, an empty path or patient is a ConfigError."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            rows = [{key.strip(): (value or "").strip() for key, value in row.items()
                     if key is not None} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"Cannot read manifest {path}: {exc}") from None
    missing = [name for name in ("path", "patient") if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        raise ConfigError(f"Manifest {path} needs columns path and patient (optional: split, "
                          f"label, mask, paired); it has {', '.join(header) or 'none'}.")
    if not rows:
        raise ConfigError(f"Manifest {path} lists no files.")
    empty = [str(index + 2) for index, row in enumerate(rows)
             if not row.get("path") or not row.get("patient")]
    if empty:
        raise _fail(f"Manifest {path} has rows without a path or patient (line)", empty)
    return [Row(**{key: row.get(key, "") for key in COLUMNS}) for row in rows]


def assign_splits(rows: list[Row], seed: int) -> None:
    """Rows without a split get one by patient, from `seed`: never one patient in two."""
    if all(row.split for row in rows):
        return
    if any(row.split for row in rows):
        unassigned = [row.path for row in rows if not row.split]
        raise _fail("The manifest's split column is empty in some rows; fill it in every "
                    "row or leave it out", unassigned)
    try:
        which = split_patients([row.patient for row in rows], seed,
                               tuple(SPLIT_FRACTIONS.values()))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"Splits by patient: {exc} without one patient in two splits; list "
                          f"at least 3 patients.") from None
    for row in rows:
        row.split = which[row.patient]


def check_rows(rows: list[Row], root: Path, options: Options) -> None:
    """The manifest-level checks: splits, patients, labels, files present."""
    bad_split = [row.path for row in rows if row.split not in SPLITS]
    if bad_split:
        raise _fail("Split must be train, val or test for", bad_split)
    empty = [split for split in SPLITS if not any(row.split == split for row in rows)]
    if empty:
        raise ConfigError(f"Split(s) {', '.join(empty)} would be empty; assign files to "
                          f"every split (or leave the split column out).")
    splits_of = defaultdict(set)
    for row in rows:
        splits_of[row.patient].add(row.split)
    leaked = sorted(patient for patient, splits in splits_of.items() if len(splits) > 1)
    if leaked:
        paths = [f"{row.path} ({row.patient}, {row.split})" for row in rows
                 if row.patient == leaked[0]]
        raise _fail(f"Patient '{leaked[0]}' is in two splits ({len(leaked)} patient(s) "
                    f"leak); a model would be tested on a patient it learnt from", paths)
    if options.classes is not None:
        outside = [f"{row.path} ({row.label})" for row in rows
                   if row.label not in options.classes]
        if outside:
            raise _fail(f"Labels outside the declared classes {', '.join(options.classes)}",
                        outside)
    missing = [name for row in rows for name in row.files() if not (root / name).is_file()]
    if missing:
        raise _fail(f"Files listed in the manifest are missing under {root}", missing)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(2**22):
            digest.update(block)
    return digest.hexdigest()


def scan(rows: list[Row], root: Path, options: Options,
         progress: Callable[[int], None] = lambda n: None) -> Scanned:
    """Read every file, check shapes, channels, masks and duplicates, and build the splits."""
    source_name, paired_name, mask_name = TASK_FIELDS[options.task]
    read: dict[str, list[np.ndarray]] = {}
    unreadable = []
    for row in rows:
        for name in row.files():
            if name in read:
                continue
            try:
                read[name] = read_slices(root / name)
            except Exception as exc:  # any reader's failure is the file's problem
                unreadable.append(f"{name} ({type(exc).__name__}: {str(exc)[:80]})")
        progress(1)
    if unreadable:
        raise _fail("Files that cannot be read as PNG, JPEG, TIFF, NIfTI or DICOM",
                    unreadable)
    images = {name: [_as_channels(name, s, options.channels) for s in read[name]]
              for row in rows for name in (row.path, row.paired) if name}
    shapes = {name: {s.shape for s in slices} for name, slices in images.items()}
    common = _common_shape(shapes, options.size)
    sizes = {name: len(read[name]) for name in read}
    for row in rows:
        odd = [name for name in (row.mask, row.paired) if name and sizes[name] != sizes[row.path]]
        if odd:
            raise _fail(f"{row.path} has {sizes[row.path]} slice(s), but its mask or pair has "
                        f"another number", odd)
        if row.mask:
            image_hw = read[row.path][0].shape[:2]
            mask_hw = read[row.mask][0].shape[:2]
            if image_hw != mask_hw:
                raise _fail(f"Mask shape {mask_hw} does not match its image's {image_hw}",
                            [row.mask])
    size = options.size or common[-1]
    labels = [row.label or UNLABELLED for row in rows]
    classes = options.classes or tuple(sorted(set(labels)))
    if options.normal_class is not None and options.normal_class not in classes:
        raise ConfigError(f"--normal-class '{options.normal_class}' is not one of the "
                          f"classes: {', '.join(classes)}.")
    has_mask, has_paired = any(row.mask for row in rows), any(row.paired for row in rows)
    if has_mask and not all(row.mask for row in rows):
        raise _fail("Some rows have a mask and others none; give every row one or none",
                    [row.path for row in rows if not row.mask])
    if has_paired and not all(row.paired for row in rows):
        raise _fail("Some rows have a paired image and others none",
                    [row.path for row in rows if not row.paired])
    if has_paired and paired_name is None:
        raise ConfigError(f"Paired images serve translation or reconstruction; task "
                          f"'{options.task}' reads none. Pass --task translation or "
                          f"reconstruction.")
    stacked = _stack(rows, images, read, classes, size, source_name, paired_name, mask_name)
    _check_duplicates(rows, images)
    dtype = str(stacked["train"][source_name].dtype)
    value_range, window = _value_range(stacked, source_name, options.window)
    channels = 1 if stacked["train"][source_name].ndim == 3 else \
        stacked["train"][source_name].shape[1]
    fields = [Field(source_name, "image", dtype, channels=channels, value_range=value_range,
                    window=window, units="as stored in the files")]
    if has_paired:
        paired_range, paired_window = _value_range(stacked, paired_name, options.window)
        fields.append(Field(paired_name, "image", str(stacked["train"][paired_name].dtype),
                            channels=channels, value_range=paired_range, window=paired_window,
                            units="as stored in the files"))
    fields.append(Field("label", "label", "int64", value_names=classes))
    if has_mask:
        highest = max(int(stacked[s][mask_name].max(initial=0)) for s in SPLITS)
        names = options.mask_names or (("background", "lesion") if highest <= 1 else
                                       tuple(f"value {v}" for v in range(highest + 1)))
        if len(names) <= highest:
            raise ConfigError(f"Masks hold values up to {highest}, but --mask-names names "
                              f"{len(names)}.")
        fields.append(Field(mask_name, "mask", "uint8", value_names=tuple(names)))
    return Scanned(tuple(fields), stacked, size, classes, options.normal_class, rows)


def _as_channels(name: str, image: np.ndarray, channels: int | None) -> np.ndarray:
    try:
        if channels is None:
            channels = 3 if image.ndim == 3 and image.shape[-1] in (3, 4) else 1
        return channels_first(image, channels)
    except ValueError as exc:
        raise _fail(f"Channels: {exc}; pass --channels 3 to read colour", [name]) from None


def _common_shape(shapes: dict[str, set[tuple[int, ...]]], size: int | None) -> tuple[int, ...]:
    every = {shape for found in shapes.values() for shape in found}
    channel_counts = {1 if len(shape) == 2 else shape[0] for shape in every}
    if len(channel_counts) > 1:
        odd = [name for name, found in shapes.items()
               if any((1 if len(s) == 2 else s[0]) != min(channel_counts) for s in found)]
        raise _fail("Images mix grey and colour; pass --channels 1 or 3", odd)
    if size is None:
        if len(every) > 1:
            first = sorted(every)[0]
            odd = [f"{name} {sorted(found)[0]}" for name, found in shapes.items()
                   if found != {first}]
            raise _fail(f"Images have different shapes (first: {first}); pass --resize N to "
                        f"resize all to N x N (anti-aliased)", odd)
        shape = next(iter(every))
        if shape[-1] != shape[-2]:
            raise ConfigError(f"Images are {shape[-2]} x {shape[-1]}; medbench uses square "
                              f"images: pass --resize N.")
        return shape
    return (size, size)


def _stack(rows: list[Row], images: dict[str, list[np.ndarray]],
           read: dict[str, list[np.ndarray]], classes: tuple[str, ...], size: int,
           source: str, paired: str | None, mask: str) -> dict[str, SplitArrays]:
    out = {}
    for split in SPLITS:
        chosen = [row for row in rows if row.split == split]
        fields: dict[str, list[np.ndarray]] = defaultdict(list)
        for row in chosen:
            count = len(images[row.path])
            fields[source].append(_resized(np.stack(images[row.path]), size, "area"))
            if row.paired:
                fields[paired].append(_resized(np.stack(images[row.paired]), size, "area"))
            if row.mask:
                masks = np.stack([np.asarray(m) for m in read[row.mask]])
                if masks.ndim == 4:
                    masks = masks[..., 0]
                fields[mask].append(_resized(np.rint(masks).astype(np.uint8), size,
                                             "nearest"))
            fields["label"].append(np.full(count, classes.index(row.label or UNLABELLED),
                                           np.int64))
        out[split] = SplitArrays({name: _stored(np.concatenate(parts))
                                  for name, parts in fields.items()})
    return out


def _resized(array: np.ndarray, size: int, mode: str) -> np.ndarray:
    return array if array.shape[-1] == size and array.shape[-2] == size else \
        resize_array(array, size, mode)  # type: ignore[arg-type]


def _stored(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if str(array.dtype) not in DTYPES:
        return array.astype(np.int32 if array.dtype.kind == "i" else np.int64)
    return array


def _check_duplicates(rows: list[Row], images: dict[str, list[np.ndarray]]) -> None:
    """The same pixels in two splits (a copied file, a re-exported slice) leak the test set."""
    seen: dict[str, tuple[str, str]] = {}
    for row in rows:
        for image in images[row.path]:
            digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()
                                    + str(image.shape).encode()).hexdigest()
            earlier = seen.setdefault(digest, (row.path, row.split))
            if earlier[1] != row.split:
                raise _fail("The same image is in two splits",
                            [f"{earlier[0]} ({earlier[1]})", f"{row.path} ({row.split})"])


def _value_range(stacked: dict[str, SplitArrays], name: str,
                 window: tuple[float, float] | None,
                 ) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """The values mapped to [0, 1]: the window when given, 0-255 for 8-bit data, else the
    train split's range (documented in the dataset's card)."""
    if window is not None:
        level, width = window
        return (level - width / 2, level + width / 2), (level, width)
    array = stacked["train"][name]
    if array.dtype == np.uint8:
        return (0.0, 255.0), None
    low, high = float(array.min()), float(array.max())
    return (low, high if high > low else low + 1.0), None
