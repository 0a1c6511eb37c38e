"""Field-generic data: what a dataset declares, stores, and what methods and metrics receive.

A dataset declares named fields (an image, a paired target image, a class label, a label
map...). The harness hashes, checks, resizes and batches every declared field the same way,
so a new kind of data needs a new field declaration, not a new code path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
import torch

SPLITS = ("train", "val", "test")

FieldKind = Literal["image", "mask", "label", "scalar"]
Resize = Literal["area", "nearest", "none"]
DTYPES = ("uint8", "int8", "uint16", "int16", "int32", "int64", "float32", "float64", "bool")
# Spatial fields are resized to the budget's image size; the others travel unchanged.
DEFAULT_RESIZE: dict[str, Resize] = {"image": "area", "mask": "nearest", "label": "none",
                                     "scalar": "none"}
ALLOWED_RESIZE: dict[str, tuple[Resize, ...]] = {"image": ("area", "nearest"),
                                                 "mask": ("nearest",), "label": ("none",),
                                                 "scalar": ("none",)}


@dataclass(frozen=True)
class Field:
    """One named field of a dataset, e.g. ``Field("ct", "image", "int16", units="HU", ...)``.

    How each kind reaches a method:

    - ``image``: float32 ``(N, C, H, W)`` in [0, 1]; stored values are mapped linearly from
      ``value_range`` (default (0, 255) for uint8) and resized with area averaging.
    - ``mask``: a label map ``(N, 1, H, W)`` in its stored integer dtype, resized with
      nearest neighbour; ``value_names[v]`` names value ``v``.
    - ``label``: int64 ``(N,)``; ``value_names[i]`` names class ``i``.
    - ``scalar``: float32 ``(N,)`` or ``(N, K)``, e.g. a lesion size; never resized.
    """

    name: str
    kind: FieldKind
    dtype: str  # numpy dtype as stored, one of DTYPES
    channels: int = 1  # image and mask fields: channels per pixel
    value_range: tuple[float, float] | None = None  # image: stored values mapped to [0, 1]
    units: str = ""  # what stored values measure, e.g. "HU", "8-bit windowed CT", "a.u."
    window: tuple[float, float] | None = None  # display (level, width) in `units`
    value_names: tuple[str, ...] = ()  # label: class names by index; mask: names by value
    resize: Resize | None = None  # None: the kind's default (DEFAULT_RESIZE)
    description: str = ""

    def __post_init__(self) -> None:
        if self.resize is None:
            object.__setattr__(self, "resize", DEFAULT_RESIZE.get(self.kind, "none"))
        if self.kind == "image" and self.value_range is None and self.dtype == "uint8":
            object.__setattr__(self, "value_range", (0.0, 255.0))

    def problems(self) -> list[str]:
        """What is wrong with this declaration; empty when it is usable."""
        found = []
        if not isinstance(self.name, str) or not self.name.isidentifier():
            found.append(f"field name {self.name!r} is not an identifier")
        if self.kind not in get_args(FieldKind):
            found.append(f"field '{self.name}' has kind {self.kind!r}; use one of "
                         f"{', '.join(get_args(FieldKind))}")
        if self.dtype not in DTYPES:
            found.append(f"field '{self.name}' has dtype {self.dtype!r}; use one of "
                         f"{', '.join(DTYPES)}")
        allowed = ALLOWED_RESIZE.get(self.kind, ())
        if allowed and self.resize not in allowed:
            found.append(f"{self.kind} field '{self.name}' cannot resize with {self.resize!r}; "
                         f"use {' or '.join(allowed)}")
        if self.kind == "image":
            low_high = self.value_range
            if low_high is None or not low_high[1] > low_high[0]:
                found.append(f"image field '{self.name}' ({self.dtype}) needs a value_range "
                             f"(low, high) that maps its values to [0, 1]")
        if not isinstance(self.channels, int) or self.channels < 1:
            found.append(f"field '{self.name}' has channels {self.channels!r}")
        return found

    @property
    def spatial(self) -> bool:
        return self.kind in ("image", "mask")

    def to_unit(self, values: torch.Tensor) -> torch.Tensor:
        """Stored values -> [0, 1] (image fields), as methods receive them."""
        low, high = self._range()
        return (values.float() - low) / (high - low)

    def from_unit(self, values: torch.Tensor) -> torch.Tensor:
        """[0, 1] -> the field's own units, e.g. a method's CT prediction back to HU."""
        low, high = self._range()
        return values.double() * (high - low) + low

    def _range(self) -> tuple[float, float]:
        if self.value_range is None:
            raise ValueError(f"field '{self.name}' has no value_range")
        return float(self.value_range[0]), float(self.value_range[1])

    def describe(self) -> dict[str, object]:
        """The field as the result record shows it."""
        return {"kind": self.kind, "dtype": self.dtype, "channels": self.channels,
                "units": self.units, "value_range": self.value_range, "window": self.window,
                "value_names": list(self.value_names), "resize": self.resize}


@dataclass(frozen=True)
class SplitArrays:
    """One split as a dataset builds it: field name -> NumPy array, first axis the sample.

    Image and mask arrays are ``(N, H, W)`` for one channel or ``(N, C, H, W)``.
    """

    arrays: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values()))) if self.arrays else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def field_sha256(self, name: str) -> str:
        """Content hash of one field: its canonical little-endian bytes, dtype and shape."""
        return _sha256_of([(name, self.arrays[name])])

    def sha256(self, fields: Iterable[str]) -> str:
        """Content hash over `fields` in the given (declared) order."""
        return _sha256_of([(name, self.arrays[name]) for name in fields])


def _sha256_of(named: list[tuple[str, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for name, array in named:
        canonical = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        digest.update(f"{name}:{canonical.dtype.str}:{list(canonical.shape)};".encode())
        digest.update(memoryview(canonical).cast("B"))  # the bytes, without a copy
    return digest.hexdigest()


@dataclass(frozen=True)
class DataInfo:
    """What a method or metric may know about the data before seeing any of it."""

    image_size: int  # the run's size: every spatial field is image_size x image_size
    fields: Mapping[str, Field]  # the fields present, in declared order
    pixel_spacing_mm: float | None = None  # at image_size; None when unknown
    normal_class: str | None = None  # the label value that means "no abnormality"

    def field(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise KeyError(f"no field '{name}'; fields here: {', '.join(self.fields)}") from None

    @property
    def channels(self) -> int:
        """Channels of the `image` field."""
        return self.field("image").channels

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the `label` field's classes; empty when there is no label field."""
        return self.fields["label"].value_names if "label" in self.fields else ()

    def select(self, names: Iterable[str]) -> DataInfo:
        return replace(self, fields={name: self.field(name) for name in names})


@dataclass(frozen=True)
class Split:
    """A split as a method or metric receives it: tensors only, no link to other splits.

    ``split["image"]`` is the field's tensor; see :class:`Field` for each kind's layout.
    """

    name: str
    tensors: Mapping[str, torch.Tensor]
    info: DataInfo
    _length: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lengths = {name: int(tensor.shape[0]) for name, tensor in self.tensors.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"split '{self.name}' has fields of different lengths: {lengths}")
        unknown = set(self.tensors) - set(self.info.fields)
        if unknown:
            raise ValueError(f"split '{self.name}' has undeclared fields: {sorted(unknown)}")
        object.__setattr__(self, "_length", next(iter(lengths.values()), 0))

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"split '{self.name}' has no field '{name}'; it has: "
                           f"{', '.join(self.tensors)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.tensors)

    @property
    def image_size(self) -> int:
        return self.info.image_size

    def subset(self, index: torch.Tensor) -> Split:
        """The samples at `index` (indices or a boolean mask), every field alike."""
        return replace(self, tensors={name: t[index] for name, t in self.tensors.items()})

    def select(self, *names: str) -> Split:
        """Only the named fields, e.g. to withhold labels from a method."""
        return Split(self.name, {name: self[name] for name in names}, self.info.select(names))

    def rename(self, names: Mapping[str, str]) -> Split:
        """Only the fields named in `names` (old -> new), under their new names, e.g.
        ``{"mr": "source", "ct": "target"}`` for an image-to-image method."""
        fields = {new: replace(self.info.field(old), name=new) for old, new in names.items()}
        return Split(self.name, {new: self[old] for old, new in names.items()},
                     replace(self.info, fields=fields))
