"""Where medbench keeps caches: datasets it built and reference feature statistics."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MEDBENCH_CACHE"


def cache_root() -> Path:
    """$MEDBENCH_CACHE, else $XDG_CACHE_HOME/medbench, else ~/.cache/medbench."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "medbench"
