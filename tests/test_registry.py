from __future__ import annotations

import pytest

from medbench.api.errors import DuplicateNameError, UnknownNameError
from medbench.host.registry import Origin, Registry, ShadowedBuiltinError


def make_registry() -> Registry[str]:
    registry: Registry[str] = Registry("method", lambda value: value)
    registry.add("dcgan", Origin("dcgan", "medbench", "0.1.0"))
    registry.add("gaussian", Origin("gaussian", "medbench", "0.1.0"))
    return registry


def test_duplicate_name_names_both_origins_and_blocks_the_name() -> None:
    registry = make_registry()
    registry.add("lsgan", Origin("lsgan", "medbench-lsgan", "1.0"))
    with pytest.raises(DuplicateNameError) as excinfo:
        registry.add("lsgan", Origin("my-lsgan", "medbench-extra", "2.0"))
    message = str(excinfo.value)
    assert "plugin 'lsgan' from distribution medbench-lsgan 1.0" in message
    assert "plugin 'my-lsgan' from distribution medbench-extra 2.0" in message
    assert "pip uninstall medbench-extra" in message
    with pytest.raises(DuplicateNameError):
        registry.get("lsgan")  # neither silently wins
    assert registry.get("gaussian") == "gaussian"
    assert "lsgan" not in registry.names()


@pytest.mark.parametrize("builtin_first", [True, False])
def test_a_built_in_name_stays_the_built_ins(builtin_first: bool) -> None:
    registry: Registry[str] = Registry("method", lambda value: value.split(":")[0])
    builtin, plugin = Origin("dcgan", "medbench", "0.1.0"), Origin("x", "medbench-x", "2.0")
    order = [("dcgan:builtin", builtin), ("dcgan:plugin", plugin)]
    with pytest.raises(ShadowedBuiltinError) as excinfo:
        for value, origin in order if builtin_first else order[::-1]:
            registry.add(value, origin)
    assert excinfo.value.refused == plugin
    assert registry.get("dcgan") == "dcgan:builtin"


def test_unknown_name_suggests_and_lists() -> None:
    with pytest.raises(UnknownNameError) as excinfo:
        make_registry().get("dcgn")
    message = str(excinfo.value)
    assert "Unknown method 'dcgn'" in message
    assert "Did you mean: dcgan?" in message
    assert "Available: dcgan, gaussian." in message


def test_unknown_name_without_close_match_still_lists() -> None:
    with pytest.raises(UnknownNameError, match="Available: dcgan, gaussian") as excinfo:
        make_registry().get("zzz")
    assert "Did you mean" not in str(excinfo.value)


def test_frozen_registry_refuses_late_registration() -> None:
    registry = make_registry()
    registry.freeze()
    with pytest.raises(RuntimeError, match="frozen"):
        registry.add("late", Origin("late"))
    assert registry.names() == ["dcgan", "gaussian"]
