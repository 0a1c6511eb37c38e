"""Discovering plugins and filling the registries from their hooks.

A broken plugin never takes the others down: a plugin that fails to import, implements an
unknown hook or a hook wrapper, or whose hook raises, contributes nothing from that hook;
an invalid item is rejected on its own. Each is recorded as a PluginProblem, which
`medbench plugins` lists and every other command prints as a one-line warning. A run that
names an item the broken plugin might have provided fails with "unknown ..." plus that note.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pluggy

from medbench.api import hookspecs
from medbench.api.dataset import DatasetSpec
from medbench.api.errors import ConfigError, DuplicateNameError
from medbench.api.features import FeatureSpace
from medbench.api.leaderboard import Reporter
from medbench.api.method import Method
from medbench.api.metric import Metric
from medbench.api.task import Task
from medbench.host import validation
from medbench.host.registry import BUILTIN_DISTRIBUTION, Origin, Registry, ShadowedBuiltinError

ENTRY_POINT_GROUP = "medbench"
DISABLE_AUTOLOAD_ENV = "MEDBENCH_DISABLE_PLUGIN_AUTOLOAD"
# Plugins that are not installed, as "module:attribute" (comma-separated), like pytest's
# PYTEST_PLUGINS: a one-off plugin, or what a sweep's worker processes (local or Ray's)
# must load besides the installed ones.
PLUGINS_ENV = "MEDBENCH_PLUGINS"
_SWITCHED_ON = {"1", "true", "yes"}


def autoload_from_environment() -> bool:
    """Third-party plugins load unless MEDBENCH_DISABLE_PLUGIN_AUTOLOAD is 1, true or yes."""
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in _SWITCHED_ON


@dataclass(frozen=True)
class PluginProblem:
    """Something wrong with a plugin. "error": that plugin hook or item is not used."""

    origin: Origin
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        if self.severity == "warning":
            return f"{self.origin}: {self.message}."
        return f"{self.origin}: {self.message}; {self.origin.remedy}."


class MedbenchPluginManager(pluggy.PluginManager):
    """pluggy's manager plus where each plugin came from and what went wrong with it."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self._origins: dict[str, Origin] = {}
        self.problems: list[PluginProblem] = []

    def register_plugin(self, plugin: object, name: str, origin: Origin | None = None) -> bool:
        """Register `plugin`; an invalid one is recorded as a problem, not registered."""
        origin = origin or Origin(name)
        try:
            self.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.problems.append(PluginProblem(origin, f"is invalid: {exc}"))
            return False
        self._origins[name] = origin
        return True

    def origin(self, plugin: object) -> Origin:
        name = self.get_name(plugin) or repr(plugin)
        return self._origins.get(name, Origin(name))


def build_plugin_manager(autoload: bool | None = None) -> MedbenchPluginManager:
    """A fresh plugin manager with the `medbench` entry points loaded.

    medbench's own methods, tasks, datasets and metrics are entry points of the `medbench`
    distribution and load through the same path as any third-party plugin. With autoload
    off (MEDBENCH_DISABLE_PLUGIN_AUTOLOAD=1), only those built-ins load.
    """
    if autoload is None:
        autoload = autoload_from_environment()
    pm = MedbenchPluginManager()
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    # Built-ins first, so that a third-party entry point can never take a built-in's name.
    found = sorted(found, key=lambda point: _distribution(point) != BUILTIN_DISTRIBUTION)
    for entry_point in found:
        dist = _distribution(entry_point)
        version = entry_point.dist.version if entry_point.dist else None
        origin = Origin(entry_point.name, dist, version)
        if not autoload and dist != BUILTIN_DISTRIBUTION:
            continue
        if pm.get_plugin(entry_point.name) is not None:
            first = pm.origin(pm.get_plugin(entry_point.name))
            if first.distribution != dist:
                pm.problems.append(PluginProblem(
                    origin, f"uses the entry-point name '{entry_point.name}' that {first} "
                            f"already uses, so it was not loaded"))
            continue  # the same distribution seen twice on sys.path is not a problem
        try:
            plugin = entry_point.load()
        except Exception as exc:  # any import error of a plugin is reported alike
            pm.problems.append(PluginProblem(
                origin, f"failed to import ({entry_point.value}): {type(exc).__name__}: {exc}"))
            continue
        pm.register_plugin(plugin, entry_point.name, origin)
    return pm


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str | None:
    return entry_point.dist.name if entry_point.dist else None


def _hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("register_"))


def drop_unknown_hooks(pm: MedbenchPluginManager) -> None:
    """A misspelt hook (say `register_method`) is a problem, not a silently ignored function.

    The plugin is unregistered, so that it is not half-used; pm.check_pending() then holds.
    """
    for name, caller in list(vars(pm.hook).items()):
        if name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook or pm.get_name(impl.plugin) is None:
                continue
            pm.problems.append(PluginProblem(
                pm.origin(impl.plugin), f"implements '{name}', which is not a medbench hook "
                f"(known hooks: {', '.join(_hook_names())}), so it was not loaded"))
            pm.unregister(impl.plugin)
    pm.check_pending()


@dataclass
class Registries:
    """Everything the installed plugins registered, frozen after loading."""

    methods: Registry[type[Method]]
    tasks: Registry[Task]
    datasets: Registry[DatasetSpec]
    metrics: Registry[Metric]
    reporters: Registry[Reporter]
    feature_spaces: Registry[FeatureSpace]


# Feature spaces come before metrics: register_metrics receives them.
_KINDS: tuple[tuple[str, str, Callable[[Any], list[str]]], ...] = (
    ("register_feature_spaces", "feature_spaces", validation.feature_space_problems),
    ("register_tasks", "tasks", validation.task_problems),
    ("register_datasets", "datasets", validation.dataset_problems),
    ("register_metrics", "metrics", validation.metric_problems),
    ("register_methods", "methods", validation.method_problems),
    ("register_reporters", "reporters", validation.reporter_problems),
)


def load_registries(pm: MedbenchPluginManager, autoload: bool = True) -> Registries:
    """Call every registration hook once per plugin, validate each item, freeze the result."""
    drop_unknown_hooks(pm)
    registries = Registries(
        methods=Registry("method", _name_of),
        tasks=Registry("task", _name_of),
        datasets=Registry("dataset", _name_of),
        metrics=Registry("metric", _name_of),
        reporters=Registry("reporter", _name_of),
        feature_spaces=Registry("feature space", _name_of),
    )
    for hook_name, attribute, check in _KINDS:
        registry = getattr(registries, attribute)
        # Called implementation by implementation, so each registered item is attributed
        # to the plugin that registered it (pluggy's HookImpl is public API). That is also
        # why hook wrappers cannot work here, and are refused.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            origin = pm.origin(impl.plugin)
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                pm.problems.append(PluginProblem(
                    origin, f"implements {hook_name} as a hook wrapper; registration hooks "
                            f"take a `register` callback and cannot be wrapped"))
                continue
            items: list[Any] = []
            kwargs: dict[str, Any] = {"register": items.append,
                                      "feature_spaces": tuple(registries.feature_spaces)}
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:  # a broken plugin is named, not a traceback
                pm.problems.append(PluginProblem(
                    origin, f"failed in {hook_name}: {type(exc).__name__}: {exc}"))
                continue
            for item in items:
                _add(pm, registry, item, origin, check(item), hook_name)
        registry.freeze()
    for entry in registries.methods.entries():
        for message in validation.method_card_problems(entry.value):
            pm.problems.append(PluginProblem(entry.origin, message, "warning"))
    for entry in registries.metrics.entries():
        if entry.value.default and entry.origin.distribution != BUILTIN_DISTRIBUTION:
            # A plugin's default metric joins every run of the tasks it reads; say so, since
            # it changes what those runs compute and how long they take.
            pm.problems.append(PluginProblem(
                entry.origin, f"adds metric '{entry.value.name}' to the defaults, so every "
                f"run it can score computes it (a failure of it is recorded as that metric "
                f"failed; the run and its other metrics stand)", "warning"))
    _add_notes(registries, pm.problems, autoload)
    return registries


def _add(pm: MedbenchPluginManager, registry: Registry[Any], item: Any, origin: Origin,
         problems: list[str], hook_name: str) -> None:
    if problems:
        label = getattr(item, "name", None) or repr(item)
        pm.problems.append(PluginProblem(
            origin, f"{hook_name} registered an invalid {registry.kind} {label!r}, which "
                    f"was rejected: {'; '.join(problems)}"))
        return
    try:
        registry.add(item, origin)
    except ShadowedBuiltinError as exc:
        pm.problems.append(PluginProblem(exc.refused, str(exc)))
    except DuplicateNameError as exc:
        pm.problems.append(PluginProblem(origin, str(exc).rstrip(".")))


def _add_notes(registries: Registries, problems: list[PluginProblem], autoload: bool) -> None:
    notes = []
    if not autoload:
        notes.append(f"Third-party plugins are switched off ({DISABLE_AUTOLOAD_ENV} is set).")
    broken = sorted({str(p.origin) for p in problems if p.severity == "error"})
    if broken:
        notes.append(f"Plugins with problems, which may be what provides it: "
                     f"{'; '.join(broken)} (see `medbench plugins`).")
    for registry in (registries.methods, registries.tasks, registries.datasets,
                     registries.metrics, registries.reporters, registries.feature_spaces):
        registry.notes.extend(notes)


def _name_of(item: object) -> str:
    return getattr(item, "name", "")


@dataclass
class PluginHost:
    """A plugin manager and the registries it filled: what the CLI works against."""

    pm: MedbenchPluginManager
    registries: Registries
    autoload: bool = True

    @property
    def problems(self) -> list[PluginProblem]:
        """Everything wrong with the installed plugins, warnings included."""
        return self.pm.problems

    def errors(self) -> list[PluginProblem]:
        """Problems that made a plugin hook or item unusable."""
        return [problem for problem in self.problems if problem.severity == "error"]


def plugins_from_environment() -> list[object]:
    """The plugin objects MEDBENCH_PLUGINS names; a class named there is instantiated."""
    found = []
    for item in filter(None, (part.strip() for part in
                              os.environ.get(PLUGINS_ENV, "").split(","))):
        module, _, attribute = item.partition(":")
        try:
            value = importlib.import_module(module)
            if attribute:
                value = getattr(value, attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{PLUGINS_ENV} names '{item}', which does not import ({exc}); "
                              f"give module:attribute of an importable plugin") from None
        found.append(value() if isinstance(value, type) else value)
    return found


def load_host(autoload: bool | None = None, *extra_plugins: object) -> PluginHost:
    """The installed plugins, plus those MEDBENCH_PLUGINS names and `extra_plugins`
    registered in-process (tests, embedding)."""
    if autoload is None:
        autoload = autoload_from_environment()
    pm = build_plugin_manager(autoload)
    for index, plugin in enumerate([*plugins_from_environment(), *extra_plugins]):
        pm.register_plugin(plugin, f"in-process-{index}")
    return PluginHost(pm, load_registries(pm, autoload), autoload)
