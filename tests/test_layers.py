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
    ("plugins/dcgan/method.py", "medbench.plugins.wgan_gp.network"),  # plugin -> plugin
    ("datasets/lowdose_ct/dataset.py", "medbench.datasets.phantom.dataset"),  # dataset -> dataset
    ("plugins/components/networks.py", "medbench.plugins.dcgan.network"),  # components -> up
    ("benchmark/run/runner.py", "medbench.plugins.components.networks"),  # harness -> components
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


def test_a_plugin_folder_the_contract_does_not_list_fails_the_check(tmp_path: Path) -> None:
    """`exhaustive`: a new plugin must be named in the independence contract, so none is
    outside it."""
    tree = copy_of_the_tree(tmp_path)
    (tree / "plugins" / "newgan").mkdir()
    (tree / "plugins" / "newgan" / "__init__.py").write_text('"""A new plugin."""\n')
    done = load_checker().check_layers(tree)
    assert done.returncode != 0 and "newgan" in done.stdout, done.stdout


def test_every_third_party_package_imported_is_declared() -> None:
    """pyproject.toml names every distribution that medbench's code imports (an import that
    works only because another package pulled it in breaks when that one drops it)."""
    import ast
    import re
    import sys
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    from importlib.metadata import packages_distributions

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~;\[ ]", requirement)[0].lower().replace("_", "-")
                for requirement in [*project["dependencies"],
                                    *(r for extra in project["optional-dependencies"].values()
                                      for r in extra)]}
    imported: set[str] = set()
    for folder in ("benchmark", "plugins", "datasets"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"medbench", "__future__"}
    distributions = packages_distributions()
    undeclared = {module: distributions.get(module, ["?"]) for module in third_party
                  if not {name.lower().replace("_", "-")
                          for name in distributions.get(module, [module])} & declared}
    assert not undeclared, f"imported but not in pyproject.toml: {undeclared}"
