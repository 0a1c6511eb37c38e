"""The plugin system: entry points, fixture-registered plugins, duplicates, misspelt hooks."""

from __future__ import annotations

import types
from typing import ClassVar

import pytest

from medbench.api.method import SynthesisMethod
from medbench.cli import app
from medbench.errors import DuplicateNameError, PluginError
from medbench.hookspecs import hookimpl
from medbench.plugin_manager import build_plugin_manager, load_host, load_registries

BUILTIN_PLUGINS = {"synthesis", "synthesis_metrics", "phantom", "dcgan", "gaussian", "holdout"}


class EchoMethod(SynthesisMethod):
    name: ClassVar[str] = "echo"
    tasks: ClassVar[tuple[str, ...]] = ("synthesis",)
    summary: ClassVar[str] = "test method"

    def fit(self, train, val, context):  # noqa: ANN001, ANN201
        pass

    def sample(self, n, labels, generator):  # noqa: ANN001, ANN201
        raise NotImplementedError


class EchoPlugin:
    @hookimpl
    def register_methods(self, register):  # noqa: ANN001, ANN201
        register(EchoMethod)


def test_builtins_load_through_entry_points() -> None:
    host = load_host(autoload=False)
    names = {name for name, _ in host.pm.list_name_plugin()}
    assert names >= BUILTIN_PLUGINS
    origin = host.registries.methods.entry("dcgan").origin
    assert (origin.plugin, origin.distribution) == ("dcgan", "medbench")
    assert {"dcgan", "gaussian", "holdout"} <= set(host.registries.methods.names())
    assert "synthesis" in host.registries.tasks
    assert "phantom" in host.registries.datasets
    assert {"fd_randcnn", "kid_randcnn", "fid", "kid_inception"} <= set(
        host.registries.metrics.names())


def test_plugin_registered_in_fixture_is_listed(runner, make_host) -> None:  # noqa: ANN001
    host = make_host(EchoPlugin())
    assert host.registries.methods.get("echo") is EchoMethod
    result = runner.invoke(app, ["list", "methods"], obj=host)
    assert result.exit_code == 0, result.output
    assert "echo" in result.output and "synthesis" in result.output
    result = runner.invoke(app, ["plugins"], obj=host)
    assert result.exit_code == 0, result.output
    assert "test-plugin-0" in result.output
    assert "register_methods" in result.output


def test_duplicate_method_name_is_an_error_naming_both(make_host) -> None:  # noqa: ANN001
    class Impostor(EchoMethod):
        name: ClassVar[str] = "dcgan"

    class ImpostorPlugin:
        @hookimpl
        def register_methods(self, register):  # noqa: ANN001, ANN201
            register(Impostor)

    with pytest.raises(DuplicateNameError) as excinfo:
        make_host(ImpostorPlugin())
    assert "plugin 'dcgan' (medbench" in str(excinfo.value)
    assert "plugin 'test-plugin-0'" in str(excinfo.value)


def test_misspelt_hook_is_an_error() -> None:
    class Misspelt:
        @hookimpl
        def register_method(self, register):  # noqa: ANN001, ANN201 - missing the "s"
            pass

    pm = build_plugin_manager(autoload=False)
    pm.register_plugin(Misspelt(), "misspelt")
    with pytest.raises(PluginError, match="register_method"):
        load_registries(pm)


def _fake_entry_point(name: str, module: object, dist: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        name=name, value=f"{dist}:plugin", load=lambda: module,
        dist=types.SimpleNamespace(name=dist, version="9.9"),
    )


def test_autoload_switch_keeps_only_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    real_entry_points = importlib.metadata.entry_points
    third_party = types.SimpleNamespace(register_methods=EchoPlugin().register_methods)

    def entry_points(group: str):  # noqa: ANN202
        return [*real_entry_points(group=group),
                _fake_entry_point("echo-plugin", third_party, "medbench-echo")]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.delenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD")
    loaded = load_host()
    assert "echo" in loaded.registries.methods
    assert loaded.registries.methods.entry("echo").origin.distribution == "medbench-echo"

    monkeypatch.setenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "echo" not in load_host().registries.methods


def test_broken_plugin_import_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def broken():  # noqa: ANN202
        raise ImportError("No module named 'missing_dependency'")

    entry = types.SimpleNamespace(name="broken", value="broken:plugin", load=broken,
                                  dist=types.SimpleNamespace(name="medbench-broken",
                                                             version="1.0"))
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [entry])
    with pytest.raises(PluginError, match="Plugin 'broken'.*failed to import.*missing_dependency"):
        build_plugin_manager(autoload=True)


def test_every_builtin_method_ships_a_model_card() -> None:
    for entry in load_host(autoload=False).registries.methods.entries():
        card = entry.value.card_path()
        assert card.is_file(), f"{entry.name} has no model card at {card}"
        assert entry.name in card.read_text(encoding="utf-8").splitlines()[0]


def test_two_distributions_with_one_entry_point_name_is_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    real_entry_points = importlib.metadata.entry_points
    clash = _fake_entry_point("dcgan", types.SimpleNamespace(), "medbench-other")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [*real_entry_points(group=group), clash])
    with pytest.raises(PluginError, match="entry-point name 'dcgan'.*medbench-other"):
        build_plugin_manager(autoload=True)


def test_a_hook_that_raises_is_named_in_a_plugin_error() -> None:
    class Broken:
        @hookimpl
        def register_datasets(self, register):  # noqa: ANN001, ANN201
            raise FileNotFoundError("manifest.json")

    pm = build_plugin_manager(autoload=False)
    pm.register_plugin(Broken(), "broken")
    with pytest.raises(PluginError, match="plugin 'broken' failed in register_datasets.*manifest"):
        load_registries(pm)


def test_registering_something_without_a_name_is_a_plugin_error() -> None:
    class Nameless:
        @hookimpl
        def register_tasks(self, register):  # noqa: ANN001, ANN201
            register(object())

    pm = build_plugin_manager(autoload=False)
    pm.register_plugin(Nameless(), "nameless")
    with pytest.raises(PluginError, match="registered a task without a name"):
        load_registries(pm)


def test_a_hook_with_unknown_arguments_is_a_plugin_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    module = types.SimpleNamespace()

    @hookimpl
    def register_methods(register, extra):  # noqa: ANN001, ANN202 - `extra` is no argument
        pass

    module.register_methods = register_methods
    entry = _fake_entry_point("odd-args", module, "medbench-odd")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [entry])
    with pytest.raises(PluginError, match="Plugin 'odd-args' \\(medbench-odd\\) is invalid"):
        build_plugin_manager(autoload=True)
