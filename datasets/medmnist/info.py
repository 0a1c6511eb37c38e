"""The MedMNIST ``INFO`` table (URLs, MD5s, split sizes, labels, licences), read from the
installed ``medmnist`` package, never copied, so a new MedMNIST release updates medbench.

``medmnist/__init__.py`` imports its torch datasets and evaluator (about a second), so the
``info`` module, which imports only the standard library, is loaded on its own from the
installed package. It creates ``~/.medmnist`` as it loads, as ``medmnist`` itself does.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

SIZES = (28, 64, 128, 224)


@cache
def medmnist_info() -> tuple[dict[str, dict[str, Any]], str]:
    """``(INFO, medmnist version)`` from the installed package."""
    package = importlib.util.find_spec("medmnist")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("the medmnist package is not installed")
    path = Path(next(iter(package.submodule_search_locations))) / "info.py"
    spec = importlib.util.spec_from_file_location("medbench_medmnist_info", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.INFO, module.__version__


def flags_2d() -> list[str]:
    """The 2D datasets, in the table's order (the 3D ones end in ``3d``)."""
    info, _ = medmnist_info()
    return [flag for flag in info if not flag.endswith("3d")]


def size_suffix(size: int) -> str:
    """MedMNIST's own naming: no suffix at 28 px, ``_64`` etc. above."""
    return "" if size == 28 else f"_{size}"
