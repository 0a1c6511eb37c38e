"""A registered user dataset: the files a lab listed, pinned by their SHA-256 at registration.

A file edited after registration fails its checksum at the next run, which says which file
changed; `--allow-unverified` runs on it anyway and the record says unverified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from medbench.api import (
    SPLITS,
    DataFile,
    DatasetIntegrityError,
    Field,
    FileDataset,
    SplitArrays,
    SplitManifest,
    cached_decode,
)
from medbench.datasets.user.scan import Options, Row, scan


class UserDataset(FileDataset):
    """A dataset made of a lab's own files, from its registration entry."""

    data_folder: ClassVar[str] = ""
    searches_data_dirs: ClassVar[bool] = False  # its files are where they were registered

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.entry = dict(entry)
        self.name = entry["name"]
        self.version = str(entry["version"])
        self.summary = entry.get("summary") or (
            f"a user dataset of {entry['counts']['train']}/{entry['counts']['val']}/"
            f"{entry['counts']['test']} images from {entry['root']}")
        self.modality = entry.get("modality") or "unspecified"
        self.licence = entry.get("licence") or "unspecified (the user's own data)"
        self.citation = entry.get("citation") or ""
        self.native_size = int(entry["native_size"])
        self.fields = tuple(Field(**{**spec, "value_range": _pair(spec.get("value_range")),
                                     "window": _pair(spec.get("window")),
                                     "value_names": tuple(spec.get("value_names", ()))})
                            for spec in entry["fields"])
        self.normal_class = entry["options"].get("normal_class")
        self.root = Path(entry["root"])

    def data_files(self) -> tuple[DataFile, ...]:
        return tuple(DataFile(name, f"sha256:{digest}",
                              how_to_get=f"registered from {self.root}")
                     for name, digest in sorted(self.entry["files"].items()))

    def conventional_dirs(self) -> Sequence[Path]:
        return (self.root,)

    def mismatch_hint(self) -> str:
        return (f"If the change is intended, register the dataset again "
                f"(`medbench datasets add {self.name} --from {self.root} --manifest ... "
                f"--replace`)")

    def manifest(self) -> dict[str, SplitManifest]:
        return {split: SplitManifest(int(entry["size"]), entry["sha256"])
                for split, entry in self.entry["splits"].items()}

    def card(self) -> str:
        options = self.entry["options"]
        return (f"# {self.name}\n\nA user dataset registered from `{self.root}` with "
                f"`medbench datasets add`.\n\n- Files: {len(self.entry['files'])}, pinned by "
                f"SHA-256\n- Splits: {self.entry['split_source']}\n- Task fields: "
                f"{options['task']}\n- Licence: {self.licence}\n")

    def decode(self, files: Mapping[str, Path], cache_dir: Path) -> dict[str, SplitArrays]:
        rows = [Row(**row) for row in self.entry["rows"]]
        options = Options.from_dict(self.entry["options"])

        def decode_all() -> dict[str, SplitArrays]:
            found = scan(rows, self.root, options)
            if tuple(f.name for f in found.fields) != self.field_names:
                raise DatasetIntegrityError(f"Dataset '{self.name}' now reads fields "
                                            f"{[f.name for f in found.fields]}; register it "
                                            f"again.")
            return found.splits

        return cached_decode(cache_dir, decode_all)


def _pair(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if value is not None else None


def registration(name: str, root: Path, rows: list[Row], options: Options,
                 files: dict[str, str], version: int, split_source: str,
                 licence: str | None, modality: str | None) -> dict[str, Any]:
    """The registry entry of a dataset that passed every check."""
    scanned = scan(rows, root, options)
    return {
        "name": name, "version": str(version), "root": str(root.resolve()),
        "rows": [row.__dict__ for row in rows], "files": files,
        "options": options.to_dict(), "native_size": scanned.native_size,
        "fields": [{key: value for key, value in spec.__dict__.items()}
                   for spec in scanned.fields],
        "splits": {split: {"size": len(scanned.splits[split]),
                           "sha256": scanned.splits[split].sha256(
                               [f.name for f in scanned.fields])}
                   for split in SPLITS},
        "counts": {split: len(scanned.splits[split]) for split in SPLITS},
        "split_source": split_source, "licence": licence, "modality": modality,
    }
