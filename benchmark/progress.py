"""Progress reporting that the library uses and the CLI renders with rich."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgressBar


class Bar(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def note(self, text: str) -> None: ...


class Progress(Protocol):
    def bar(self, description: str, total: float | None) -> Iterator[Bar]: ...


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


class _RichBar:
    def __init__(self, bar: RichProgressBar, task_id: int) -> None:
        self._bar, self._task_id = bar, task_id

    def advance(self, amount: float = 1) -> None:
        self._bar.advance(self._task_id, amount)

    def note(self, text: str) -> None:
        self._bar.update(self._task_id, note=text)


class RichProgress:
    """A rich progress bar with an ETA for each long step of a run."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def bar(self, description: str, total: float | None) -> Iterator[Bar]:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
        )
        with RichProgressBar(*columns, console=self.console, transient=False) as bar:
            task_id = bar.add_task(description, total=total, note="")
            yield _RichBar(bar, task_id)
