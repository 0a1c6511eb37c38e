"""Discovering plugins and filling the registries from their hooks."""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pluggy

from medbench import hookspecs
from medbench.errors import MedbenchError, PluginError
from medbench.registry import Origin, Registry

if TYPE_CHECKING:
    from medbench.api.dataset import DatasetSpec
    from medbench.api.method import Method
    from medbench.api.metric import MetricSpec
    from medbench.api.task import Task

ENTRY_POINT_GROUP = "medbench"
DISABLE_AUTOLOAD_ENV = "MEDBENCH_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_DISTRIBUTION = "medbench"


class MedbenchPluginManager(pluggy.PluginManager):
    """pluggy's manager plus the distribution each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self._origins: dict[str, Origin] = {}

    def register_plugin(self, plugin: object, name: str, origin: Origin | None = None) -> None:
        self.register(plugin, name=name)
        self._origins[name] = origin or Origin(name)

    def origin(self, plugin: object) -> Origin:
        name = self.get_name(plugin) or repr(plugin)
        return self._origins.get(name, Origin(name))


def build_plugin_manager(autoload: bool | None = None) -> MedbenchPluginManager:
    """A fresh plugin manager with the `medbench` entry points loaded.

    medbench's own methods, tasks, datasets and metrics are entry points of the `medbench`
    distribution and load through the same path as any third-party plugin. Setting
    MEDBENCH_DISABLE_PLUGIN_AUTOLOAD (or `autoload=False`) loads only those built-ins.
    """
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    pm = MedbenchPluginManager()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist.name if entry_point.dist else None
        if not autoload and dist != BUILTIN_DISTRIBUTION:
            continue
        if pm.is_blocked(entry_point.name):
            continue
        if pm.get_plugin(entry_point.name) is not None:
            first = pm.origin(pm.get_plugin(entry_point.name))
            if first.distribution == dist:
                continue  # the same distribution seen twice on sys.path
            raise PluginError(
                f"Two plugins use the entry-point name '{entry_point.name}': {first} and "
                f"'{entry_point.value}' ({dist}). Uninstall one of them or rename one."
            )
        try:
            plugin = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a plugin is reported alike
            raise PluginError(
                f"Plugin '{entry_point.name}' ({entry_point.value}) failed to import: "
                f"{type(exc).__name__}: {exc}. Fix or uninstall it, or set "
                f"{DISABLE_AUTOLOAD_ENV}=1 to load only medbench's built-ins."
            ) from exc
        version = entry_point.dist.version if entry_point.dist else None
        try:
            pm.register_plugin(plugin, entry_point.name, Origin(entry_point.name, dist, version))
        except pluggy.PluginValidationError as exc:  # e.g. a hook with the wrong arguments
            raise PluginError(f"Plugin '{entry_point.name}' ({dist}) is invalid: {exc}") from exc
    return pm


def check_hooks(pm: MedbenchPluginManager) -> None:
    """Make a misspelt hook an error instead of a silently ignored function."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{exc}. Known hooks: {', '.join(_hook_names())}.") from exc


def _hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("register_"))


@dataclass
class Registries:
    """Everything the installed plugins registered, frozen after loading."""

    methods: Registry[type[Method]]
    tasks: Registry[Task]
    datasets: Registry[DatasetSpec]
    metrics: Registry[MetricSpec]


def load_registries(pm: MedbenchPluginManager) -> Registries:
    """Call every registration hook once per plugin and freeze the result."""
    check_hooks(pm)
    registries = Registries(
        methods=Registry("method", _name_of),
        tasks=Registry("task", _name_of),
        datasets=Registry("dataset", _name_of),
        metrics=Registry("metric", _name_of),
    )
    for hook_name, registry in (
        ("register_tasks", registries.tasks),
        ("register_datasets", registries.datasets),
        ("register_metrics", registries.metrics),
        ("register_methods", registries.methods),
    ):
        # Called implementation by implementation, so each registered item is attributed
        # to the plugin that registered it (pluggy's HookImpl is public API).
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            origin = pm.origin(impl.plugin)
            kwargs: dict[str, Any] = {"register": partial(_register, registry, origin)}
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except MedbenchError:
                raise
            except Exception as exc:  # noqa: BLE001 - a broken plugin is named, not a traceback
                raise PluginError(
                    f"{origin} failed in {hook_name}: {type(exc).__name__}: {exc}. Fix or "
                    f"uninstall it, or set {DISABLE_AUTOLOAD_ENV}=1."
                ) from exc
        registry.freeze()
    return registries


def _name_of(item: object) -> str:
    return getattr(item, "name", "")


def _register(registry: Registry[Any], origin: Origin, value: Any) -> None:
    registry.add(value, origin)


@dataclass
class PluginHost:
    """A plugin manager and the registries it filled: what the CLI works against."""

    pm: MedbenchPluginManager
    registries: Registries


def load_host(autoload: bool | None = None) -> PluginHost:
    pm = build_plugin_manager(autoload)
    return PluginHost(pm, load_registries(pm))
