"""`--set key=value` overrides of a method's hyperparameters, checked against its Config."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from medbench.errors import ConfigError

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"Bad --set '{item}': expected key=value, e.g. --set lr=0.0002.")
        parsed[key] = value.strip()
    return parsed


def build_config(config_cls: type, overrides: dict[str, Any], method: str) -> Any:
    """Instantiate `config_cls` with `overrides`, converting strings to each field's type."""
    fields = {field.name: field for field in dataclasses.fields(config_cls)}
    hints = typing.get_type_hints(config_cls)
    values: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            known = ", ".join(fields) or "none"
            raise ConfigError(
                f"Bad --set '{key}': method '{method}' has no such setting.{hint} "
                f"Its settings: {known}."
            )
        values[key] = _convert(raw, hints[key], key)
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as exc:  # a Config's own __post_init__ validation
        raise ConfigError(f"Bad --set for method '{method}': {exc}") from None


def _convert(raw: Any, kind: Any, key: str) -> Any:
    if not isinstance(raw, str):
        return raw  # already typed, e.g. read back from a result record
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            return lowered in _TRUE
        if kind in (int, float, str):
            return kind(raw)
    except ValueError:
        raise ConfigError(
            f"Bad --set {key}={raw}: expected a value of type {kind.__name__}."
        ) from None
    raise ConfigError(f"Setting '{key}' has type {kind}, which --set cannot parse.")
