"""One typed registry per kind of thing (methods, tasks, datasets, metrics)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from medbench.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Origin:
    """Where a registered entry came from, so errors and listings can name it."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution is None:
            return f"plugin '{self.plugin}'"
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    origin: Origin


class Registry(Generic[T]):
    """Name -> value, filled once by the plugin hooks and frozen afterwards."""

    def __init__(self, kind: str, name_of: Callable[[T], str]) -> None:
        self.kind = kind
        self._name_of = name_of
        self._entries: dict[str, Entry[T]] = {}
        self._frozen = False

    def add(self, value: T, origin: Origin) -> None:
        if self._frozen:
            raise RuntimeError(f"the {self.kind} registry is frozen; register from a hook")
        name = self._name_of(value)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{origin} registered a {self.kind} without a name: {value!r}")
        if name in self._entries:
            first = self._entries[name].origin
            raise DuplicateNameError(
                f"{self.kind} '{name}' is registered twice: by {first} and by {origin}. "
                f"Uninstall one of them or rename one."
            )
        self._entries[name] = Entry(name, value, origin)

    def freeze(self) -> None:
        self._frozen = True

    def get(self, name: str) -> T:
        return self.entry(name).value

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        names = sorted(self._entries)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        available = ", ".join(names) or "none (is medbench installed with its entry points?)"
        return f"Unknown {self.kind} '{name}'.{hint} Available: {available}."

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return (entry.value for entry in self.entries())

    def __len__(self) -> int:
        return len(self._entries)
