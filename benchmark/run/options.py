"""Typed settings from the command line: `--set` for a method's Config, `--metric-option`
for a metric's Options. Both are checked against the dataclass before anything runs."""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any

from medbench.api.errors import ConfigError
from medbench.record.spec import ALL_METRICS

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_NONE = {"", "none", "null"}


def parse_assignments(assignments: list[str], flag: str = "--set") -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"Bad {flag} '{item}': expected key=value, e.g. --set lr=0.0002.")
        if key in parsed:
            raise ConfigError(f"{flag} {key} is given twice ({parsed[key]!r} and "
                              f"{value.strip()!r}); give it once.")
        parsed[key] = value.strip()
    return parsed


def parse_metric_options(assignments: list[str]) -> dict[str, dict[str, str]]:
    """`METRIC.KEY=VALUE` items -> {metric: {key: value}}; METRIC may be `*`."""
    parsed: dict[str, dict[str, str]] = {}
    for item in assignments:
        target, sep, value = item.partition("=")
        metric, dot, key = target.strip().partition(".")
        if not sep or not dot or not metric or not key:
            raise ConfigError(f"Bad --metric-option '{item}': expected METRIC.KEY=VALUE, e.g. "
                              f"--metric-option fid.inception_weights=/path/weights.pth.")
        options = parsed.setdefault(metric, {})
        if key in options:
            raise ConfigError(f"--metric-option {metric}.{key} is given twice; give it once.")
        options[key] = value.strip()
    return parsed


def build_config(config_cls: type, values: dict[str, Any], owner: str,
                 flag: str = "--set") -> Any:
    """Instantiate `config_cls` from strings, converting each to its field's type.

    `owner` names whose settings these are in messages, e.g. "method 'dcgan'".
    """
    fields = {field.name: field for field in dataclasses.fields(config_cls)}
    hints = typing.get_type_hints(config_cls)
    converted: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3, cutoff=0.5)
            close += [name for name in fields if key in name and name not in close]
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            known = ", ".join(fields) or "none"
            raise ConfigError(f"Bad {flag} '{key}': {owner} has no such setting.{hint} "
                              f"Its settings: {known}.")
        converted[key] = _convert(raw, hints[key], key, flag)
    try:
        return config_cls(**converted)
    except (TypeError, ValueError) as exc:  # a Config's own __post_init__ validation
        raise ConfigError(f"Bad {flag} for {owner}: {exc}") from None


def option_fields(options_cls: type) -> list[str]:
    return [field.name for field in dataclasses.fields(options_cls)]


def as_plain(config: Any) -> dict[str, Any]:
    """A Config or Options instance as JSON-ready values (paths as strings)."""
    return {key: str(value) if isinstance(value, Path) else value
            for key, value in dataclasses.asdict(config).items()}


def options_for(metric: str, options_cls: type,
                typed: dict[str, dict[str, str]]) -> dict[str, str]:
    """The typed options that apply to `metric`: `*.KEY` ones it has, then its own."""
    known = set(option_fields(options_cls))
    values = {k: v for k, v in typed.get(ALL_METRICS, {}).items() if k in known}
    values.update(typed.get(metric, {}))
    return values


def _convert(raw: Any, kind: Any, key: str, flag: str) -> Any:
    if not isinstance(raw, str):
        return raw
    optional = False
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        optional = len(members) < len(typing.get_args(kind))
        if len(members) == 1:
            kind = members[0]
    if optional and raw.strip().lower() in _NONE:
        return None
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            return lowered in _TRUE
        if kind is float:
            value = float(raw)
            if not math.isfinite(value):
                raise ConfigError(f"Bad {flag} {key}={raw}: expected a finite number.")
            return value
        if kind in (int, str):
            return kind(raw)
        if kind is Path:
            return Path(raw).expanduser()
    except ValueError:
        raise ConfigError(
            f"Bad {flag} {key}={raw}: expected a value of type {kind.__name__}."
        ) from None
    raise ConfigError(f"Setting '{key}' has type {kind}, which {flag} cannot parse.")
