"""What `medbench results import` checks before a record from elsewhere enters the store.

A record is plain JSON, parsed and compared, never executed: nothing in it is imported,
unpickled or called. It is refused, with the first reason found, when it is malformed (a
missing or mistyped key, a config `rerun` could not read, a schema version this medbench
does not read, a run still `running`) or when it contradicts what is registered here (a
metric whose direction or range contradicts its definition, a dataset version whose split
hashes differ from the pinned manifest).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from medbench.record.schema import READABLE_VERSIONS, ResultRecord
from medbench.record.spec import RunSpec

FINISHED = ("ok", "failed", "diverged", "interrupted")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 256 * 1024  # run/artifacts.py's MAX_PANEL_BYTES: no run writes more
OPTIONAL = ("process", "source_run", "artifacts", "images")  # absent from older schemas
OBJECTS = ("config", "method", "task", "dataset", "budget", "metrics", "timings",
           "environment", "status")


class RecordRejected(ValueError):
    """The record cannot be imported; the message is the reason, one line."""


def check_record(data: Any, registries: Any) -> list[str]:
    """Raise RecordRejected for a record that is malformed or contradicts the definitions
    registered here; return notes on what could not be checked (e.g. a dataset that is not
    installed). `registries` is medbench.host.manager.Registries."""
    _check_shape(data)
    _check_images(data.get("images", {}))
    notes: list[str] = []
    _check_metrics(data["metrics"], registries, notes)
    check_dataset(data["dataset"], registries, notes)
    return notes


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict):
        raise RecordRejected(f"a record is a JSON object, got {type(data).__name__}")
    missing = [key for key in ResultRecord.__dataclass_fields__
               if key not in data and key not in OPTIONAL]
    if missing:
        raise RecordRejected(f"missing key(s) {', '.join(missing)}")
    if data["schema_version"] not in READABLE_VERSIONS:
        raise RecordRejected(f"schema_version {data['schema_version']!r} is not one this "
                             f"medbench reads ({', '.join(READABLE_VERSIONS)})")
    for key in ("run_id", "created_at"):
        if not isinstance(data[key], str) or not data[key]:
            raise RecordRejected(f"'{key}' must be a non-empty string")
    for key in OBJECTS:
        if not isinstance(data[key], dict):
            raise RecordRejected(f"'{key}' must be an object, got {type(data[key]).__name__}")
    for section, key in (("method", "name"), ("task", "name"), ("dataset", "name"),
                         ("status", "state")):
        if not isinstance(data[section].get(key), str):
            raise RecordRejected(f"'{section}.{key}' must be a string")
    if data["status"]["state"] not in FINISHED:
        raise RecordRejected(f"status '{data['status']['state']}' is not a finished run "
                             f"({', '.join(FINISHED)})")
    try:
        spec = RunSpec.from_dict({key: value for key, value in data["config"].items()
                                  if key in RunSpec.__dataclass_fields__})
    except (ValueError, TypeError) as exc:
        raise RecordRejected(f"config: {exc}") from None
    if (spec.method, spec.task) != (data["method"]["name"], data["task"]["name"]):
        raise RecordRejected(f"config names method '{spec.method}' on task '{spec.task}', "
                             f"but the record is of '{data['method']['name']}' on "
                             f"'{data['task']['name']}'")


def _check_images(images: Any) -> None:
    """Images are shown in reports: each must be a small PNG, named plainly."""
    if not isinstance(images, dict):
        raise RecordRejected(f"'images' must be an object, got {type(images).__name__}")
    for name, image in images.items():
        if not isinstance(image, dict) or not isinstance(image.get("png_base64"), str) \
                or not isinstance(image.get("caption", ""), str):
            raise RecordRejected(f"image '{name}' must hold png_base64 and a caption")
        if len(image["png_base64"]) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            raise RecordRejected(f"image '{name}' is larger than {MAX_IMAGE_BYTES // 1024} KiB")
        try:
            data = base64.b64decode(image["png_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise RecordRejected(f"image '{name}' is not base64") from None
        if not data.startswith(PNG_SIGNATURE):
            raise RecordRejected(f"image '{name}' is not a PNG")


def _check_metrics(metrics: dict[str, Any], registries: Any, notes: list[str]) -> None:
    for name, result in metrics.items():
        if not isinstance(result, dict):
            raise RecordRejected(f"metric '{name}' must be an object")
        status, value = result.get("status", "ok"), result.get("value")
        if status not in ("ok", "unavailable", "failed"):
            raise RecordRejected(f"metric '{name}' has status {status!r}")
        if not isinstance(result.get("higher_is_better"), bool):
            raise RecordRejected(f"metric '{name}' lacks its direction (higher_is_better)")
        if status == "ok" and (isinstance(value, bool) or not isinstance(value, (int, float))
                               or not math.isfinite(value)):
            raise RecordRejected(f"metric '{name}' is ok but its value is {value!r}, not a "
                                 f"finite number")
        if name not in registries.metrics:
            notes.append(f"metric '{name}' is not installed here: its direction and range "
                         f"are the record's word")
            continue
        metric = registries.metrics.get(name)
        if result["higher_is_better"] != metric.higher_is_better:
            said = "higher" if result["higher_is_better"] else "lower"
            defined = "higher" if metric.higher_is_better else "lower"
            raise RecordRejected(f"metric '{name}' says {said} is better, but its definition "
                                 f"says {defined} is better")
        low, high = metric.range
        if status == "ok" and ((low is not None and value < low - 1e-9)
                               or (high is not None and value > high + 1e-9)):
            raise RecordRejected(f"metric '{name}' = {value} lies outside its defined range "
                                 f"[{low}, {high}]")


def check_dataset(dataset: dict[str, Any], registries: Any, notes: list[str]) -> None:
    """RecordRejected when the record's split hashes differ from the registered dataset's
    pinned manifest: it was not run on the data this medbench would load. Notes say what
    could not be checked."""
    name, version = dataset["name"], dataset.get("version")
    if name not in registries.datasets:
        notes.append(f"dataset '{name}' is not installed here: its hashes are unchecked")
        return
    registered = registries.datasets.get(name)
    if version != registered.version:
        notes.append(f"dataset '{name}' is version {version} in the record and "
                     f"{registered.version} here: its hashes are unchecked")
        return
    splits = dataset.get("splits")
    if not isinstance(splits, dict):
        raise RecordRejected("'dataset.splits' must be an object")
    for split, entry in registered.manifest().items():
        recorded = (splits.get(split) or {}).get("sha256")
        if recorded is None or not entry.sha256:
            continue  # a record may hold only the splits its run read; a file-backed
            # dataset's splits are pinned by its files' checksums, not by a manifest hash
        if recorded != entry.sha256:
            raise RecordRejected(f"dataset '{name}' {version}: the record's {split} split has "
                                 f"SHA-256 {str(recorded)[:12]}…, the registered version's is "
                                 f"{entry.sha256[:12]}…")
