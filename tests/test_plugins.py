"""The plugin system: entry points, validation at registration, and broken plugins isolated."""

from __future__ import annotations

import types
from pathlib import Path
from typing import ClassVar

import pluggy
import pytest

from medbench.api import SynthesisMethod, hookimpl
from medbench.api.errors import DuplicateNameError, UnknownNameError
from medbench.cli import app
from medbench.host.manager import (
    autoload_from_environment,
    build_plugin_manager,
    load_host,
    load_registries,
)

BUILTIN_PLUGINS = {"synthesis", "synthesis_metrics", "phantom", "dcgan", "gaussian", "holdout"}


class EchoMethod(SynthesisMethod):
    name: ClassVar[str] = "echo"
    summary: ClassVar[str] = "test method"

    def fit(self, train, val, context):
        pass

    def sample(self, n, labels, generator):
        raise NotImplementedError


class EchoPlugin:
    @hookimpl
    def register_methods(self, register):
        register(EchoMethod)


def problems_of(host) -> str:
    return "\n".join(str(problem) for problem in host.problems)


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
    assert host.errors() == [], problems_of(host)


def test_plugin_registered_in_process_is_listed(runner, make_host) -> None:
    host = make_host(EchoPlugin())
    assert host.registries.methods.get("echo") is EchoMethod
    result = runner.invoke(app, ["list", "methods"], obj=host)
    assert result.exit_code == 0, result.output
    assert "echo" in result.output and "synthesis" in result.output
    result = runner.invoke(app, ["plugins"], obj=host)
    assert result.exit_code == 0, result.output
    assert "in-process-0" in result.output
    assert "register_methods" in result.output
    assert runner.invoke(app, ["plugins", "--check"], obj=host).exit_code == 0


def test_a_name_registered_twice_is_unusable_and_names_both(make_host) -> None:
    class Twin(EchoMethod):
        name: ClassVar[str] = "echo"

    class TwinPlugin:
        @hookimpl
        def register_methods(self, register):
            register(Twin)

    host = make_host(EchoPlugin(), TwinPlugin())
    with pytest.raises(DuplicateNameError) as excinfo:
        host.registries.methods.get("echo")
    message = str(excinfo.value)
    assert "plugin 'in-process-0'" in message and "plugin 'in-process-1'" in message
    assert "gaussian" in host.registries.methods  # every other name still works
    assert "registered by" in problems_of(host)


def test_a_plugin_may_not_shadow_a_built_in(make_host, monkeypatch) -> None:
    class Impostor(EchoMethod):
        name: ClassVar[str] = "dcgan"

    class ImpostorPlugin:
        @hookimpl
        def register_methods(self, register):
            register(Impostor)

    host = make_host(ImpostorPlugin())
    assert host.registries.methods.get("dcgan") is not Impostor  # the built-in still works
    assert host.registries.methods.entry("dcgan").origin.distribution == "medbench"
    [problem] = host.errors()
    assert "plugin 'in-process-0'" in str(problem)
    assert "a plugin may not replace a built-in" in str(problem)
    assert "bug in medbench" not in str(problem)

    # The same from an installed distribution: it is named, with the way to remove it.
    import importlib.metadata

    real_entry_points = importlib.metadata.entry_points
    impostor = _fake_entry_point("impostor", ImpostorPlugin(), "medbench-impostor")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [impostor, *real_entry_points(group=group)])
    monkeypatch.delenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD")
    host = load_host()
    assert host.registries.methods.entry("dcgan").origin.distribution == "medbench"
    [problem] = host.errors()
    assert "medbench-impostor" in str(problem) and "pip uninstall medbench-impostor" in str(
        problem)


def test_misspelt_hook_is_reported_and_the_plugin_not_loaded() -> None:
    class Misspelt:
        @hookimpl
        def register_method(self, register):  # missing the "s"
            pass

        @hookimpl
        def register_datasets(self, register):
            raise AssertionError("a plugin with a misspelt hook must not be half-loaded")

    host = load_host(False, Misspelt())
    assert "register_method'" in problems_of(host)
    assert "not a medbench hook" in problems_of(host)
    assert "phantom" in host.registries.datasets


def _fake_entry_point(name: str, module: object, dist: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        name=name, value=f"{dist}:plugin", load=lambda: module,
        dist=types.SimpleNamespace(name=dist, version="9.9"),
    )


@pytest.mark.parametrize("value,autoload", [
    ("1", False), ("true", False), ("YES", False), ("0", True), ("false", True), ("", True),
    ("no", True),
])
def test_only_1_true_or_yes_switch_autoload_off(monkeypatch: pytest.MonkeyPatch, value: str,
                                                autoload: bool) -> None:
    monkeypatch.setenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD", value)
    assert autoload_from_environment() is autoload


def test_autoload_switch_keeps_only_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    real_entry_points = importlib.metadata.entry_points
    third_party = types.SimpleNamespace(register_methods=EchoPlugin().register_methods)

    def entry_points(group: str):
        return [*real_entry_points(group=group),
                _fake_entry_point("echo-plugin", third_party, "medbench-echo")]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.delenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD")
    loaded = load_host()
    assert "echo" in loaded.registries.methods
    assert loaded.registries.methods.entry("echo").origin.distribution == "medbench-echo"

    monkeypatch.setenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    switched_off = load_host()
    assert "echo" not in switched_off.registries.methods
    with pytest.raises(UnknownNameError, match="Third-party plugins are switched off"):
        switched_off.registries.methods.get("echo")


@pytest.fixture
def broken_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party plugin that fails to import, installed beside the built-ins."""
    import importlib.metadata

    def broken():
        raise ImportError("No module named 'missing_dependency'")

    entry = types.SimpleNamespace(name="broken", value="broken_pkg:plugin", load=broken,
                                  dist=types.SimpleNamespace(name="medbench-broken",
                                                             version="1.0"))
    real_entry_points = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [*real_entry_points(group=group), entry])
    monkeypatch.delenv("MEDBENCH_DISABLE_PLUGIN_AUTOLOAD")


def test_a_plugin_that_fails_to_import_keeps_the_rest_working(
        broken_entry_point, runner, tmp_path) -> None:
    host = load_host()
    assert "dcgan" in host.registries.methods
    [problem] = host.errors()
    assert "failed to import" in str(problem) and "missing_dependency" in str(problem)
    assert "pip uninstall medbench-broken" in str(problem)

    result = runner.invoke(app, ["plugins"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "missing_dependency" in result.output and "medbench-broken" in result.output
    checked = runner.invoke(app, ["plugins", "--check"], terminal_width=200)
    assert checked.exit_code == 1 and "missing_dependency" in checked.output

    result = runner.invoke(app, ["list", "methods"], terminal_width=200)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "medbench-broken" in warnings[0]
    assert "dcgan" in result.output

    result = runner.invoke(app, ["run", "--method", "lsgan", "--task", "synthesis",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Unknown method 'lsgan'" in result.output
    assert "medbench-broken" in result.output.split("Error:")[1]


def test_two_distributions_with_one_entry_point_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    real_entry_points = importlib.metadata.entry_points
    clash = _fake_entry_point("dcgan", types.SimpleNamespace(), "medbench-other")
    # Listed before the built-ins, as an installed package may be: the built-in still wins.
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [clash, *real_entry_points(group=group)])
    pm = build_plugin_manager(autoload=True)
    [problem] = pm.problems
    assert "entry-point name 'dcgan'" in str(problem)
    assert "pip uninstall medbench-other" in str(problem)
    assert pm.origin(pm.get_plugin("dcgan")).distribution == "medbench"


def test_a_hook_that_raises_contributes_nothing_and_is_named() -> None:
    class Broken:
        @hookimpl
        def register_datasets(self, register):
            register(object())
            raise FileNotFoundError("manifest.json")

    host = load_host(False, Broken())
    assert "plugin 'in-process-0'" in problems_of(host)
    assert "failed in register_datasets: FileNotFoundError: manifest.json" in problems_of(host)
    assert host.registries.datasets.names() == load_host(False).registries.datasets.names()


class NoSummary(SynthesisMethod):
    name: ClassVar[str] = "no-summary"

    def fit(self, train, val, context):
        pass

    def sample(self, n, labels, generator):
        pass


class NotImplemented_(SynthesisMethod):
    name: ClassVar[str] = "half-done"
    summary: ClassVar[str] = "forgot sample()"

    def fit(self, train, val, context):
        pass


@pytest.mark.parametrize("hook,item,fragments", [
    ("register_methods", NoSummary, ["invalid method 'no-summary'", "`summary`"]),
    ("register_methods", NotImplemented_, ["does not implement sample"]),
    ("register_methods", EchoPlugin, ["expects a subclass of medbench.api.Method"]),
    ("register_tasks", object(), ["expects an instance of medbench.api.Task"]),
    ("register_datasets", "phantom", ["expects an instance of medbench.api.DatasetSpec"]),
    ("register_metrics", EchoMethod, ["expects an instance of medbench.api.Metric"]),
])
def test_invalid_items_are_rejected_at_registration_naming_the_plugin(
        runner, hook: str, item: object, fragments: list[str]) -> None:
    plugin = types.SimpleNamespace()
    setattr(plugin, hook, hookimpl(lambda register: register(item)))
    host = load_host(False, plugin)
    text = problems_of(host)
    assert "plugin 'in-process-0'" in text
    for fragment in fragments:
        assert fragment in text
    result = runner.invoke(app, ["list", "methods"], obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output  # listing never crashes on it


def test_a_hook_wrapper_is_refused_clearly() -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def register_methods(self, register):
            yield

    host = load_host(False, Wrapper())
    assert "as a hook wrapper" in problems_of(host)
    assert "dcgan" in host.registries.methods


def test_a_hook_with_unknown_arguments_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    module = types.SimpleNamespace()

    @hookimpl
    def register_methods(register, extra):  # `extra` is no argument of the hook
        pass

    module.register_methods = register_methods
    entry = _fake_entry_point("odd-args", module, "medbench-odd")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [entry])
    pm = build_plugin_manager(autoload=True)
    [problem] = pm.problems
    assert "plugin 'odd-args' from distribution medbench-odd 9.9: is invalid" in str(problem)
    assert "pip uninstall medbench-odd" in str(problem)


def test_load_registries_leaves_pluggy_consistent() -> None:
    pm = build_plugin_manager(autoload=False)
    load_registries(pm, autoload=False)
    pm.check_pending()  # nothing unknown is left registered
    assert isinstance(pm, pluggy.PluginManager)


def test_every_builtin_method_ships_a_model_card_and_it_is_checked(make_host) -> None:
    host = make_host()
    for entry in host.registries.methods.entries():
        card = entry.value.card()
        assert card is not None, f"{entry.name} has no model card"
        assert entry.name in card.splitlines()[0]
    assert [p for p in host.problems if "model card" in p.message] == []
    carded = make_host(EchoPlugin())  # EchoMethod's module has no README.md beside it
    warnings = [p for p in carded.problems if "model card" in p.message]
    assert len(warnings) == 1 and warnings[0].severity == "warning"
    assert "echo" in carded.registries.methods  # a missing card warns, it does not reject


def test_card_command(runner, make_host) -> None:
    result = runner.invoke(app, ["card", "dcgan"], obj=make_host(), terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Radford" in result.output
    result = runner.invoke(app, ["card", "echo"], obj=make_host(EchoPlugin()))
    assert result.exit_code == 1
    assert "ships no model card" in result.output and "package data" in result.output


def test_medbench_plugins_registers_an_uninstalled_plugin_and_names_a_bad_one(
        runner, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    monkeypatch.setenv("MEDBENCH_PLUGINS", "support:SlowMethodPlugin")
    listed = runner.invoke(app, ["list", "methods"], terminal_width=200)
    assert listed.exit_code == 0 and "slow" in listed.output
    monkeypatch.setenv("MEDBENCH_PLUGINS", "support:NoSuchPlugin")
    broken = runner.invoke(app, ["list", "methods"], terminal_width=200)
    assert broken.exit_code == 1 and "Traceback" not in broken.output
    assert "MEDBENCH_PLUGINS names 'support:NoSuchPlugin', which does not import" \
        in broken.output
