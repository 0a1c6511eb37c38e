"""docs/hooks.md documents every hook, with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

from medbench.api import hookspecs

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
