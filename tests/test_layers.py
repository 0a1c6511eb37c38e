"""The import layering holds, and the check that enforces it in CI does fail on a breach."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "check_layers.py"


def load_checker():
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_of_the_tree(target: Path) -> Path:
    for folder in ("benchmark", "plugins", "datasets"):
        shutil.copytree(REPO / folder, target / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_its_layers() -> None:
    done = load_checker().check_layers(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("module,upward", [
    ("plugins/dcgan/method.py", "medbench.run.training_context"),
    ("datasets/phantom/dataset.py", "medbench.run.paths"),
    ("benchmark/api/method.py", "medbench.host.registry"),
    ("benchmark/tasks/synthesis.py", "medbench.metrics.synthesis"),
])
def test_an_upward_or_sideways_import_fails_the_check(tmp_path: Path, module: str,
                                                      upward: str) -> None:
    tree = copy_of_the_tree(tmp_path)
    package, _, name = upward.rpartition(".")
    with open(tree / module, "a", encoding="utf-8") as source:
        source.write(f"\nfrom {package} import {name}  # the breach\n")
    done = load_checker().check_layers(tree)
    assert done.returncode != 0, done.stdout
    assert "Broken contracts" in done.stdout
