"""The rich rendering of medbench's progress bars, with an ETA for each long step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgressBar

from medbench.api.progress import Bar


class _RichBar:
    def __init__(self, bar: RichProgressBar, task_id: int) -> None:
        self._bar, self._task_id = bar, task_id

    def advance(self, amount: float = 1) -> None:
        self._bar.advance(self._task_id, amount)

    def note(self, text: str) -> None:
        self._bar.update(self._task_id, note=escape(text))


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
            task_id = bar.add_task(escape(description), total=total, note="")
            yield _RichBar(bar, task_id)
