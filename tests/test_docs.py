"""The docs stay true: every hook is documented, and every guide's example runs."""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
from pathlib import Path

import pytest

from medbench.api import hookspecs
from medbench.cli import app
from medbench.host.manager import load_host
from medbench.run.data import check_fields, to_split

from support import TinyDatasetPlugin

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def hook_functions() -> list:
    return [getattr(hookspecs, name) for name in dir(hookspecs)
            if name.startswith("register_") and callable(getattr(hookspecs, name))]


def test_every_hook_is_documented_with_its_signature() -> None:
    text = DOCS.read_text(encoding="utf-8")
    hooks = hook_functions()
    assert len(hooks) >= 4
    for hook in hooks:
        params = ", ".join(inspect.signature(hook).parameters)
        assert f"### {hook.__name__}({params})" in text, f"{hook.__name__} is undocumented"


def test_docs_name_no_hook_that_does_not_exist() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = {line.split("### ")[1].split("(")[0] for line in text.splitlines()
                  if line.startswith("### register_")}
    assert documented == {hook.__name__ for hook in hook_functions()}


# --- the guides' examples run as written --------------------------------------------------

def example_module(guide: str) -> types.ModuleType:
    """Every ```python block of docs/<guide> executed, in order, as one module."""
    text = (DOCS.parent / guide).read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    module = types.ModuleType(f"docs_{guide.replace('-', '_').removesuffix('.md')}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(code, str(DOCS.parent / guide), "exec"), module.__dict__)
    return module


def host_with(guide: str):
    host = load_host(False, TinyDatasetPlugin(), example_module(guide))
    assert host.errors() == [], [str(problem) for problem in host.errors()]
    return host


def run(runner, host, tmp_path: Path, *args: str) -> dict:
    result = runner.invoke(app, ["run", *args, "--dataset", "tiny-phantom", "--budget", "tiny",
                                 "--device", "cpu", "--out", str(tmp_path)], obj=host)
    assert result.exit_code == 0, result.output
    [record] = tmp_path.glob("*/record.json")
    return json.loads(record.read_text())


def test_the_method_guide_example_runs(runner, tmp_path: Path) -> None:
    record = run(runner, host_with("writing-a-method.md"), tmp_path, "--method", "lsgan",
                 "--task", "synthesis")
    assert record["status"]["state"] == "ok"
    assert set(record["training"]["final_losses"]) == {"loss_c", "loss_g"}


def test_the_task_guide_example_runs(runner, tmp_path: Path) -> None:
    record = run(runner, host_with("writing-a-task.md"), tmp_path, "--method", "box-blur",
                 "--task", "toy-denoising")
    assert record["status"]["state"] == "ok"
    assert record["training"]["fit_data"]["train"]["fields"] == ["image"]
    assert 0 < record["metrics"]["mse_toy"]["value"] < 0.01
    assert record["images"]["panel"]["caption"].endswith("noisy | denoised | clean")


def test_the_metric_guide_example_runs_with_its_option(runner, tmp_path: Path) -> None:
    host = host_with("writing-a-metric.md")
    record = run(runner, host, tmp_path, "--method", "gaussian", "--task", "synthesis",
                 "--metrics", "hist_l1", "--metric-option", "hist_l1.bins=16")
    assert record["metrics"]["hist_l1"]["options"] == {"bins": 16}
    assert 0 <= record["metrics"]["hist_l1"]["value"] <= 2
    result = runner.invoke(app, ["run", "--method", "gaussian", "--task", "synthesis",
                                 "--metrics", "hist_l1", "--metric-option", "hist_l1.bins=1",
                                 "--out", str(tmp_path / "no")], obj=host)
    assert result.exit_code == 1 and "bins must lie in [2, 4096]" in result.output


def test_the_dataset_guide_example_builds_and_checks() -> None:
    host = host_with("writing-a-dataset.md")
    dataset = host.registries.datasets.get("disc-ct")
    splits = dataset.build(Path("unused"))
    check_fields(dataset, splits)
    assert dataset.info(32).pixel_spacing_mm == pytest.approx(1.6)
    ct = to_split("test", splits["test"], dataset, 32)
    assert ct["ct"].min() >= 0 and ct["ct"].max() <= 1 and ct["mask"].shape[1:] == (1, 32, 32)
