"""The harness's metric loop: which metrics a run computes, with which options, and how
each outcome is recorded. Tasks never run metrics themselves."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from medbench.api.errors import ConfigError, UnknownNameError, UnsupportedError
from medbench.api.metric import Metric, MetricInputs, MetricUnavailable
from medbench.api.task import Task
from medbench.host.registry import Registry
from medbench.record.schema import MetricResult
from medbench.record.spec import ALL_METRICS
from medbench.run.options import as_plain, build_config, option_fields, options_for


@dataclass(frozen=True)
class SelectedMetric:
    metric: Metric
    options: Any  # an instance of metric.Options


def applicable_metrics(task: Task, metrics: Registry[Metric]) -> list[Metric]:
    """Metrics that read what this task's evaluation produces."""
    return [metric for metric in metrics if issubclass(task.inputs, metric.reads)]


DEFAULT_METRICS = "default"  # in --metrics: the task's default metrics


def select_metrics(task: Task, metrics: Registry[Metric], requested: list[str] | None,
                   typed_options: dict[str, dict[str, str]]) -> list[SelectedMetric]:
    """`requested` (or the task's defaults; the word "default" in it stands for them) with
    their options built and checked."""
    applicable = applicable_metrics(task, metrics)
    names = [metric.name for metric in applicable]
    defaults = [metric for metric in applicable if metric.default]
    if requested is None:
        chosen = defaults
    else:
        if not requested:
            raise ConfigError(f"--metrics is empty. Metrics for task '{task.name}': "
                              f"{', '.join(names)}.")
        chosen = defaults if DEFAULT_METRICS in requested else []
        for name in dict.fromkeys(requested):
            if name == DEFAULT_METRICS:
                continue
            metric = metrics.get(name)  # unknown names: "did you mean"
            if metric not in applicable:
                raise UnsupportedError(
                    f"Metric '{name}' does not score task '{task.name}' (it reads "
                    f"{metric.reads.__name__}, the task gives {task.inputs.__name__}). "
                    f"Metrics for this task: {', '.join(names)}.")
            if metric not in chosen:
                chosen.append(metric)
    chosen_names = {metric.name for metric in chosen}
    declared = {key for metric in metrics for key in option_fields(metric.Options)}
    for key in typed_options.get(ALL_METRICS, {}):
        if key not in declared:
            raise ConfigError(f"Bad --metric-option *.{key}: no installed metric has an option "
                              f"'{key}'. Options: {', '.join(sorted(declared)) or 'none'}.")
    for target in typed_options:
        if target == ALL_METRICS or target in chosen_names:
            continue
        if target in metrics:
            selected = ", ".join(sorted(chosen_names))
            raise ConfigError(f"Bad --metric-option {target}.…: metric '{target}' is not "
                              f"selected for this run. Selected: {selected}.")
        raise UnknownNameError(f"Bad --metric-option: {metrics.unknown_message(target)}")
    return [SelectedMetric(metric, build_config(metric.Options,
                                                options_for(metric.name, metric.Options,
                                                            typed_options),
                                                f"metric '{metric.name}'", "--metric-option"))
            for metric in sorted(chosen, key=lambda m: m.name)]


def score(selected: list[SelectedMetric],
          inputs: MetricInputs) -> tuple[dict[str, MetricResult], list[str]]:
    """Every selected metric on `inputs`; one that fails never loses the others."""
    results: dict[str, MetricResult] = {}
    notices: list[str] = []
    for chosen in selected:
        metric = chosen.metric
        try:
            outcome = metric.compute(inputs, chosen.options)
            value = float(outcome.value)
            if not math.isfinite(value):
                raise ValueError(f"the metric returned {value}")
            results[metric.name] = _result(chosen, value, outcome.n_samples, outcome.details)
            if not outcome.comparable:
                caveat = outcome.caveat or "marked not comparable by the metric"
                results[metric.name].comparable = False
                results[metric.name].caveat = caveat
                notices.append(f"{metric.name}: {caveat}.")
        except MetricUnavailable as missing:
            results[metric.name] = _result(chosen, None, {}, {}, "unavailable", missing.reason)
            if missing.hint and missing.hint not in notices:
                notices.append(missing.hint)
        except Exception as exc:  # one broken metric must not lose the rest
            results[metric.name] = _result(chosen, None, {}, {}, "failed",
                                           f"{type(exc).__name__}: {exc}")
    return results, notices


def _result(chosen: SelectedMetric, value: float | None, n_samples: dict[str, int],
            details: dict[str, Any], status: str = "ok",
            reason: str | None = None) -> MetricResult:
    metric = chosen.metric
    try:
        implementation, library_version = metric.implementation
    except Exception as exc:  # a metric's own description must not lose its value
        implementation, library_version = f"unknown ({type(exc).__name__})", "unknown"
    return MetricResult(
        value=value, higher_is_better=metric.higher_is_better, units=metric.units,
        range=metric.range, implementation=implementation,
        implementation_version=library_version, metric_version=metric.metric_version,
        options=as_plain(chosen.options), n_samples=dict(n_samples), status=status,
        reason=reason, details=details,
    )


def failed_metrics(metrics: dict[str, MetricResult]) -> list[str]:
    return [name for name, result in metrics.items() if result.status == "failed"]


def metrics_for_task(task: Task, metrics: Registry[Metric],
                     requested: list[str]) -> list[str] | None:
    """A sweep's --metrics for one of its tasks: the names that score this task (and
    "default"); None when none does, for the caller to say so."""
    readable = {metric.name for metric in applicable_metrics(task, metrics)}
    for name in requested:
        if name != DEFAULT_METRICS:
            metrics.get(name)  # an unknown name fails here, with "did you mean"
    chosen = [name for name in requested if name == DEFAULT_METRICS or name in readable]
    return chosen or None
