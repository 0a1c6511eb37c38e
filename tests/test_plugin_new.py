"""`medbench plugins new`: the package it writes is complete and its method passes the
contract checks on every task, and one package is installed and run as its author would."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medbench.cli import app
from medbench.host.manager import load_host
from medbench.testing import check_method

from support import TinyDatasetPlugin, TinyPairsPlugin

TINY = load_host(False, TinyDatasetPlugin(), TinyPairsPlugin()).registries
TASKS = [task.name for task in TINY.tasks]
TINY_FOR = {task.name: next(dataset.name for dataset in TINY.datasets
                            if dataset.name.startswith("tiny-")
                            and task.dataset_problem(dataset) is None)
            for task in TINY.tasks}


def new_plugin(runner, host, tmp_path: Path, name: str, task: str) -> Path:
    result = runner.invoke(app, ["plugins", "new", name, "--task", task, "--out",
                                 str(tmp_path)], obj=host, terminal_width=400)
    assert result.exit_code == 0, result.output
    return tmp_path / f"medbench-{name}"


def load_module(root: Path, name: str):
    package = "medbench_" + name.replace("-", "_")
    sys.path.insert(0, str(root))  # as an installed package: its model card is found too
    try:
        return importlib.import_module(f"{package}.plugin")
    finally:
        sys.path.remove(str(root))


@pytest.mark.parametrize("task", TASKS)
def test_the_method_it_writes_passes_the_checks_on_its_task(runner, host, tmp_path: Path,
                                                            task: str) -> None:
    name = f"new-{task}"
    root = new_plugin(runner, host, tmp_path, name, task)
    package = "medbench_" + name.replace("-", "_")
    assert {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()} \
        == {"pyproject.toml", "README.md", f"{package}/__init__.py", f"{package}/plugin.py",
            f"{package}/README.md", f"tests/test_{package}.py"}
    assert f'{name} = "{package}.plugin"' in (root / "pyproject.toml").read_text()
    registries = load_host(False, TinyDatasetPlugin(), TinyPairsPlugin(),
                           load_module(root, name)).registries
    method = registries.methods.get(name)
    assert method.card().startswith(f"# {name}:")
    results = check_method(name, registries, tasks=[task], dataset=TINY_FOR[task],
                           budget="tiny", out=tmp_path / "checks")
    failed = [result for result in results if result.outcome == "fail"]
    assert not failed, failed


@pytest.mark.parametrize("name,task,fragment", [
    ("Bad_Name", "synthesis", "is not a method name"),
    ("dcgan", "synthesis", "A method named 'dcgan' is installed already"),
    ("fresh", "synthesys", "Unknown task 'synthesys'"),
])
def test_bad_names_are_refused_in_one_line(runner, host, tmp_path: Path, name: str,
                                           task: str, fragment: str) -> None:
    result = runner.invoke(app, ["plugins", "new", name, "--task", task, "--out",
                                 str(tmp_path)], obj=host, terminal_width=400)
    assert result.exit_code == 1 and fragment in result.output, result.output
    assert not list(tmp_path.iterdir())


def test_an_existing_folder_is_never_overwritten(runner, host, tmp_path: Path) -> None:
    root = new_plugin(runner, host, tmp_path, "mine", "synthesis")
    (root / "README.md").write_text("my notes")
    result = runner.invoke(app, ["plugins", "new", "mine", "--task", "synthesis", "--out",
                                 str(tmp_path)], obj=host, terminal_width=400)
    assert result.exit_code == 1 and "exists" in result.output
    assert (root / "README.md").read_text() == "my notes"


def test_installed_it_runs_and_its_own_tests_pass(runner, host, tmp_path: Path) -> None:
    """As its author would: pip install -e, medbench run, pytest (the network is not needed:
    no build isolation, no dependencies to fetch)."""
    root = new_plugin(runner, host, tmp_path, "scaffolded", "synthesis")
    env = {**os.environ, "MEDBENCH_DISABLE_PLUGIN_AUTOLOAD": "0"}
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
           "--no-build-isolation", "-e", str(root)]
    subprocess.run(pip, check=True, env=env, capture_output=True)
    try:
        run = subprocess.run([sys.executable, "-m", "medbench", "run", "--method",
                              "scaffolded", "--task", "synthesis", "--budget", "check",
                              "--metrics", "fd_randcnn", "--out", str(tmp_path / "runs")],
                             env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                str(root / "tests")], cwd=root, env=env,
                               capture_output=True, text=True, timeout=600)
        assert tests.returncode == 0, tests.stdout + tests.stderr
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes",
                        "medbench-scaffolded"], env=env, capture_output=True)
