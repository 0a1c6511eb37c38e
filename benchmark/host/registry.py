"""One typed registry per kind of thing (methods, tasks, datasets, metrics)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from medbench.api.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")
BUILTIN_DISTRIBUTION = "medbench"


@dataclass(frozen=True)
class Origin:
    """Where a registered entry came from, so errors and listings can name it."""

    plugin: str  # entry-point name, or the name given to an in-process registration
    distribution: str | None = None  # the pip distribution that ships it
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution is None:
            return f"plugin '{self.plugin}' (registered in-process)"
        return f"plugin '{self.plugin}' from distribution {self.distribution} {self.version}"

    @property
    def remedy(self) -> str:
        """What the user can do about a broken plugin: always the distribution to remove."""
        if self.distribution is None:
            return "fix the code that registers it"
        if self.distribution == BUILTIN_DISTRIBUTION:
            return "this is a bug in medbench itself: please report it"
        return f"fix it, or remove it with `pip uninstall {self.distribution}`"


class ShadowedBuiltinError(DuplicateNameError):
    """A plugin registered a name that a built-in has: the plugin's entry is refused and the
    built-in kept, so installing a package can never silently replace a built-in (or, by
    clashing with it, disable it)."""

    def __init__(self, message: str, refused: Origin) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    origin: Origin


def _is_builtin(origin: Origin) -> bool:
    return origin.distribution == BUILTIN_DISTRIBUTION


class Registry(Generic[T]):
    """Name -> value, filled once by the plugin hooks and frozen afterwards.

    A name registered by two plugins is unusable until one is removed: neither silently
    wins, and every other name keeps working. The exception is a built-in's name: the
    built-in keeps it and the plugin's entry is refused.
    """

    def __init__(self, kind: str, name_of: Callable[[T], str]) -> None:
        self.kind = kind
        self._name_of = name_of
        self._entries: dict[str, Entry[T]] = {}
        self._conflicts: dict[str, list[Origin]] = {}
        self._frozen = False
        self.notes: list[str] = []  # appended to "unknown name" errors, e.g. broken plugins

    def add(self, value: T, origin: Origin) -> None:
        """Register `value`; raises DuplicateNameError when its name is taken."""
        if self._frozen:
            raise RuntimeError(f"the {self.kind} registry is frozen; register from a hook")
        name = self._name_of(value)
        if name in self._conflicts:
            self._conflicts[name].append(origin)
            raise DuplicateNameError(self._duplicate_message(name))
        if name in self._entries:
            held = self._entries[name].origin
            if _is_builtin(held) != _is_builtin(origin):
                if _is_builtin(origin):  # the plugin registered first: the built-in wins
                    self._entries[name] = Entry(name, value, origin)
                refused = origin if _is_builtin(held) else held
                raise ShadowedBuiltinError(
                    f"its {self.kind} '{name}' is refused: a built-in {self.kind} has that "
                    f"name, and a plugin may not replace a built-in. The built-in is used; "
                    f"rename the plugin's", refused)
            self._conflicts[name] = [self._entries.pop(name).origin, origin]
            raise DuplicateNameError(self._duplicate_message(name))
        self._entries[name] = Entry(name, value, origin)

    def _duplicate_message(self, name: str) -> str:
        origins = " and by ".join(str(origin) for origin in self._conflicts[name])
        fixes = "; ".join(sorted({origin.remedy for origin in self._conflicts[name]}))
        return (f"{self.kind} '{name}' is registered by {origins}, so neither is used. "
                f"Keep one: {fixes}.")

    def freeze(self) -> None:
        self._frozen = True

    def get(self, name: str) -> T:
        return self.entry(name).value

    def entry(self, name: str) -> Entry[T]:
        if name in self._conflicts:
            raise DuplicateNameError(self._duplicate_message(name))
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        available = ", ".join(names) or "none (is medbench installed with its entry points?)"
        notes = "".join(f" {note}" for note in self.notes)
        return f"Unknown {self.kind} '{name}'.{hint} Available: {available}.{notes}"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return (entry.value for entry in self.entries())
