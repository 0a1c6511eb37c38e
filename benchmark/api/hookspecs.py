"""The hooks a medbench plugin can implement.

Each hook receives a `register` callback instead of returning values, so the host can
validate every item, record which plugin it came from, and grow new keyword arguments
without breaking existing plugins. Every hook is called exactly once per plugin, after all
plugins have loaded; the registries are frozen afterwards. The hooks are documented, with
examples, in docs/hooks.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from medbench.api.dataset import DatasetSpec
    from medbench.api.features import FeatureSpace
    from medbench.api.leaderboard import Reporter
    from medbench.api.method import Method
    from medbench.api.metric import Metric
    from medbench.api.task import Task

PROJECT = "medbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_methods(register: Callable[[type[Method]], None]) -> None:
    """Register method classes.

    :param register: call ``register(MethodClass)`` once per method. The class subclasses
        the protocol base of the tasks it runs (e.g.
        :class:`medbench.api.SynthesisMethod`) and sets ``name`` and ``summary``.
    """


@hookspec
def register_tasks(register: Callable[[Task], None]) -> None:
    """Register task instances.

    :param register: call ``register(task)`` once per task; ``task`` is an instance of a
        :class:`medbench.api.Task` subclass.
    """


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register dataset definitions.

    :param register: call ``register(dataset)`` once per dataset; ``dataset`` is an instance
        of a :class:`medbench.api.DatasetSpec` subclass.
    """


@hookspec
def register_feature_spaces(register: Callable[[FeatureSpace], None]) -> None:
    """Register feature spaces, in which distribution metrics compare images.

    :param register: call ``register(space)`` once per space; ``space`` is a
        :class:`medbench.api.FeatureSpace`. Every distance metric (FD, KID, precision,
        recall, density, coverage, ...) is then computed in it as well.
    """


@hookspec
def register_metrics(register: Callable[[Metric], None],
                     feature_spaces: tuple[FeatureSpace, ...]) -> None:
    """Register metrics.

    :param register: call ``register(metric)`` once per metric; ``metric`` is an instance of
        a :class:`medbench.api.Metric` subclass and names the inputs it reads.
    :param feature_spaces: every registered feature space, for a metric computed in each
        (take the argument only if you need it).
    """


@hookspec
def register_reporters(register: Callable[[Reporter], None]) -> None:
    """Register leaderboard output formats.

    :param register: call ``register(reporter)`` once per format; ``reporter`` is an instance
        of a :class:`medbench.api.Reporter` subclass with ``name``, ``suffix`` and
        ``summary``, and renders a sequence of :class:`medbench.api.Leaderboard`.
    """
