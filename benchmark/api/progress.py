"""How long work reports progress: the library calls these, the CLI renders them with rich."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Bar(Protocol):
    """One progress bar: advanced as work is done, with a short note (e.g. the losses)."""

    def advance(self, amount: float = 1) -> None: ...

    def note(self, text: str) -> None: ...


class Progress(Protocol):
    """Opens one bar per long step of a run (train, sample, extract features...)."""

    def bar(self, description: str, total: float | None) -> AbstractContextManager[Bar]: ...


class _SilentBar:
    def advance(self, amount: float = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class SilentProgress:
    """For library use and tests: reports nothing."""

    @contextmanager
    def bar(self, description: str, total: float | None) -> Iterator[Bar]:
        yield _SilentBar()
