"""Where a user's dataset registrations live: one JSON file per user.

``$MEDBENCH_USER_DATASETS``, else ``$XDG_CONFIG_HOME/medbench/datasets.json``, else
``~/.config/medbench/datasets.json``. Written atomically, so an interrupted
``medbench datasets add`` never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from medbench.api import ConfigError, atomic_write

USER_DATASETS_ENV = "MEDBENCH_USER_DATASETS"


def registry_path() -> Path:
    if os.environ.get(USER_DATASETS_ENV):
        return Path(os.environ[USER_DATASETS_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base).expanduser() / "medbench" / "datasets.json"


def load_registrations(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Name -> registration; an absent file is an empty registry."""
    path = path or registry_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The user dataset registry {path} cannot be read ({exc}); fix or "
                          f"delete it.") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), dict):
        raise ConfigError(f"{path} is not a medbench dataset registry; fix or delete it.")
    return data["datasets"]


def save_registration(entry: dict[str, Any], path: Path | None = None) -> Path:
    path = path or registry_path()
    registrations = load_registrations(path)
    registrations[entry["name"]] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as out:
        json.dump({"format": 1, "datasets": registrations}, out, indent=1, sort_keys=True)
    return path
