"""`medbench datasets add`: check a lab's files completely, then register them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medbench.api import ConfigError
from medbench.datasets.user.dataset import registration
from medbench.datasets.user.registry import load_registrations, save_registration
from medbench.datasets.user.scan import (
    TASK_FIELDS,
    Options,
    assign_splits,
    check_rows,
    file_sha256,
    read_manifest,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def add_dataset(name: str, root: Path, manifest: Path, options: Options, *,
                replace: bool = False, taken: frozenset[str] = frozenset(),
                licence: str | None = None, modality: str | None = None) -> dict[str, Any]:
    """Validate everything, then store the registration; nothing is written on any error.

    `taken` holds the names other plugins registered, which a user dataset may not shadow.
    """
    if not NAME.match(name):
        raise ConfigError(f"Dataset name '{name}' must be lowercase letters, digits, '.', "
                          f"'_' or '-', starting with a letter or digit.")
    registrations = load_registrations()
    if name in taken and name not in registrations:
        raise ConfigError(f"'{name}' is already a dataset of an installed plugin; choose "
                          f"another name.")
    if name in registrations and not replace:
        raise ConfigError(f"Dataset '{name}' is registered already; pass --replace to "
                          f"register it again (its version goes up).")
    if options.task not in TASK_FIELDS:
        raise ConfigError(f"--task must be one of {', '.join(TASK_FIELDS)}; got "
                          f"'{options.task}'.")
    if not root.is_dir():
        raise ConfigError(f"--from {root} is not a folder.")
    rows = read_manifest(manifest)
    split_source = "from the manifest's split column" if all(r.split for r in rows) else \
        f"assigned by patient with seed {options.seed} (70/10/20 % of patients)"
    assign_splits(rows, options.seed)
    check_rows(rows, root, options)
    files = {name: file_sha256(root / name) for row in rows for name in row.files()}
    version = int(registrations.get(name, {}).get("version", 0)) + 1
    entry = registration(name, root, rows, options, files, version, split_source, licence,
                         modality)
    save_registration(entry)
    return entry
