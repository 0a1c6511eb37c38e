"""Checks on every registered item, so a malformed plugin fails at registration, named,
instead of crashing a listing or a run later."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

from medbench.api.data import Field
from medbench.api.dataset import DatasetSpec
from medbench.api.features import FeatureSpace
from medbench.api.leaderboard import Reporter
from medbench.api.method import Method
from medbench.api.metric import COSTS, Metric, MetricInputs
from medbench.api.sources import DataFile, FileDataset
from medbench.api.task import Task


def _text_problems(item: Any, *attributes: str) -> list[str]:
    found = []
    for attribute in attributes:
        value = getattr(item, attribute, None)
        if not isinstance(value, str) or not value.strip():
            found.append(f"`{attribute}` must be a non-empty string, got {value!r}")
    return found


def _name_problems(item: Any) -> list[str]:
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name:
        return [f"`name` must be a non-empty string, got {name!r}"]
    if any(char.isspace() or char in "[]/\\" for char in name):
        return [f"`name` {name!r} must not contain spaces, brackets or slashes"]
    return []


def _all_defaults(options: type) -> bool:
    return all(f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
               for f in dataclasses.fields(options))


def method_problems(item: Any) -> list[str]:
    if not (isinstance(item, type) and issubclass(item, Method)):
        return [f"register_methods expects a subclass of medbench.api.Method, got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "summary")
    config = getattr(item, "Config", None)
    if not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        found.append(f"`Config` must be a dataclass, got {config!r}")
    elif not _all_defaults(config):
        found.append("every `Config` field needs a default")
    else:
        found += _budget_default_problems(item, config)
    declines = getattr(item, "declines", None)
    if not (isinstance(declines, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in declines.items())):
        found.append("`declines` must map task names to reasons (str -> str)")
    if inspect.isabstract(item):
        missing = ", ".join(sorted(item.__abstractmethods__))
        found.append(f"does not implement {missing}")
    return found


def _budget_default_problems(item: type[Method], config: type) -> list[str]:
    defaults = getattr(item, "budget_defaults", None)
    if not (isinstance(defaults, dict) and all(isinstance(values, dict)
                                               for values in defaults.values())):
        return ["`budget_defaults` must map budget names to {setting: value} dicts"]
    found = []
    for budget, values in defaults.items():
        try:
            config(**values)
        except (TypeError, ValueError) as exc:
            found.append(f"`budget_defaults['{budget}']` does not build a Config: {exc}")
    return found


def method_card_problems(item: type[Method]) -> list[str]:
    """Warnings, not errors: a method without a model card still runs."""
    card = item.card()
    if card is None:
        return [f"method '{item.name}' ships no model card (README.md beside its module, "
                f"included as package data); see docs/model-card-template.md"]
    first = card.strip().splitlines()[0] if card.strip() else ""
    if not (first.startswith("#") and item.name in first):
        return [f"method '{item.name}''s model card should start with a heading naming it"]
    return []


def task_problems(item: Any) -> list[str]:
    if not isinstance(item, Task):
        return [f"register_tasks expects an instance of medbench.api.Task, got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "version", "summary", "default_dataset")
    protocol = getattr(item, "method_protocol", None)
    if not (isinstance(protocol, type) and issubclass(protocol, Method)):
        found.append(f"`method_protocol` must be a Method subclass, got {protocol!r}")
    inputs = getattr(item, "inputs", None)
    if not (isinstance(inputs, type) and issubclass(inputs, MetricInputs)):
        found.append(f"`inputs` must be a MetricInputs subclass, got {inputs!r}")
    fields = getattr(item, "required_fields", None)
    if not (isinstance(fields, tuple) and all(isinstance(f, str) for f in fields)):
        found.append("`required_fields` must be a tuple of field names")
    primary = getattr(item, "primary_metric", None)
    if primary is not None and not (isinstance(primary, str) and primary):
        found.append(f"`primary_metric` must be a metric name or None, got {primary!r}")
    return found


def reporter_problems(item: Any) -> list[str]:
    if not isinstance(item, Reporter):
        return [f"register_reporters expects an instance of medbench.api.Reporter, "
                f"got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "suffix", "summary")
    suffix = getattr(item, "suffix", "")
    if isinstance(suffix, str) and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.]*", suffix):
        found.append(f"`suffix` {suffix!r} must be a file ending such as 'md' (letters, digits "
                     f"and dots)")
    if type(item).render is Reporter.render:
        found.append("it does not implement `render`")
    return found


def dataset_problems(item: Any) -> list[str]:
    if not isinstance(item, DatasetSpec):
        return [f"register_datasets expects an instance of medbench.api.DatasetSpec, "
                f"got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "version", "summary", "modality")
    size = getattr(item, "native_size", None)
    if not (isinstance(size, int) and size > 0):
        found.append(f"`native_size` must be a positive int, got {size!r}")
    fields = getattr(item, "fields", None)
    if not (isinstance(fields, tuple) and fields and all(isinstance(f, Field) for f in fields)):
        return [*found, "`fields` must be a non-empty tuple of medbench.api.Field"]
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        found.append(f"field names repeat: {names}")
    for declared in fields:
        found.extend(declared.problems())
    normal = getattr(item, "normal_class", None)
    if normal is not None and normal not in item.class_names:
        found.append(f"`normal_class` {normal!r} is not one of the label field's value_names")
    spacing = getattr(item, "pixel_spacing_mm", None)
    if spacing is not None and not (isinstance(spacing, (int, float)) and spacing > 0):
        found.append(f"`pixel_spacing_mm` must be positive or None, got {spacing!r}")
    if isinstance(item, FileDataset):
        found.extend(_file_problems(item))
    return found


def _file_problems(item: FileDataset) -> list[str]:
    """A file-backed dataset's declarations: its folder, files, checksums and licence."""
    found = []
    folder = getattr(item, "data_folder", None)
    if not isinstance(folder, str) or folder.startswith("/") or ".." in folder.split("/"):
        found.append(f"`data_folder` must be a relative folder name, got {folder!r}")
    if not isinstance(getattr(item, "licence", None), str) or not item.licence.strip():
        found.append("`licence` must name the data's licence")
    try:
        files = item.data_files()
    except Exception as exc:  # the plugin's own bug: reported, never raised
        return [*found, f"data_files() failed: {type(exc).__name__}: {exc}"]
    if not (isinstance(files, tuple) and files and all(isinstance(f, DataFile) for f in files)):
        return [*found, "data_files() must return a non-empty tuple of medbench.api.DataFile"]
    for file in files:
        found.extend(file.problems())
    return found


def feature_space_problems(item: Any) -> list[str]:
    if not isinstance(item, FeatureSpace):
        return [f"register_feature_spaces expects a medbench.api.FeatureSpace, got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "summary")
    if not isinstance(item.default, bool):
        found.append("`default` must be True or False")
    if item.cost not in COSTS:
        found.append(f"`cost` must be one of {', '.join(COSTS)}")
    if not (isinstance(item.Options, type) and dataclasses.is_dataclass(item.Options)):
        found.append(f"`Options` must be a dataclass, got {item.Options!r}")
    elif not _all_defaults(item.Options):
        found.append("every `Options` field needs a default")
    if not callable(item.extractor) or not callable(item.weights):
        found.append("`extractor` and `weights` must be callables taking the options")
    return found


def metric_problems(item: Any) -> list[str]:
    if not isinstance(item, Metric):
        return [f"register_metrics expects an instance of medbench.api.Metric, got {item!r}"]
    found = _name_problems(item) + _text_problems(item, "summary", "units")
    reads = getattr(item, "reads", None)
    if not (isinstance(reads, type) and issubclass(reads, MetricInputs)):
        found.append(f"`reads` must be a MetricInputs subclass, got {reads!r}")
    if not isinstance(getattr(item, "higher_is_better", None), bool):
        found.append("`higher_is_better` must be True or False")
    if not isinstance(getattr(item, "default", None), bool):
        found.append("`default` must be True or False")
    if getattr(item, "cost", None) not in COSTS:
        found.append(f"`cost` must be one of {', '.join(COSTS)}")
    options = getattr(item, "Options", None)
    if not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        found.append(f"`Options` must be a dataclass, got {options!r}")
    elif not _all_defaults(options):
        found.append("every `Options` field needs a default")
    return found
