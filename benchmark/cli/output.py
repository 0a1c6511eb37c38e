"""Tables for people and for programs, as `gh` and `kubectl` print them.

- On a terminal: a rich table that fits its width. Names (methods, tasks, metrics...) are
  never cut: their columns are at least as wide as their longest name, and when the table
  cannot fit, the descriptive columns are dropped, highest `drop` first.
- Piped or redirected: plain text, one row per line, cells separated by tabs, no header,
  nothing cut or wrapped, so `medbench list tasks | grep synthesis` and `cut -f1` work. A
  title, if any, goes to stderr.
- `--json`: a JSON array with one object per row, for scripts.

`TTY_COMPATIBLE=1` (rich's own switch) forces the table when piped; `COLUMNS` sets its width.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbench.cli.common import console, err_console

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (one object per row) instead of a table.")]

Cell = str | int | float | bool | None | Sequence[str]
MIN_TEXT_WIDTH = 16  # a descriptive column narrower than this is dropped, not squeezed
COLUMN_OVERHEAD = 3  # rich's padding either side plus one border per column


@dataclass(frozen=True)
class Column:
    header: str
    names: bool = False  # holds a name or a list of names: never cut, wraps only between
    drop: int = 0  # 0: always shown; otherwise dropped on a narrow terminal, highest first

    @property
    def key(self) -> str:
        """The column's JSON key."""
        return self.header.replace(" ", "_")


def text(cell: Cell) -> str:
    """A cell as one line of text: lists joined with ", ", None as "-"."""
    if cell is None:
        return "-"
    if isinstance(cell, (list, tuple)):
        return ", ".join(cell) or "-"
    return str(cell)


def emit(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], as_json: bool = False,
         title: str | None = None) -> None:
    """Print rows as JSON, plain lines or a fitted table (see the module docstring)."""
    if as_json:
        objects = [{column.key: list(cell) if isinstance(cell, tuple) else cell
                    for column, cell in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(objects, indent=2) + "\n")
        return
    if not console.is_terminal:
        if title:  # on stderr: stdout keeps only rows
            err_console.print(escape(title), highlight=False, soft_wrap=True)
        for row in rows:
            sys.stdout.write("\t".join(" ".join(text(cell).split()) for cell in row) + "\n")
        return
    console.print(fitted_table(columns, rows, console.width, title))


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int,
                 title: str | None = None) -> Table:
    """A table no wider than `width` that cuts no name: descriptive columns are dropped,
    highest `drop` first, until the narrowest each remaining column can be fits; the width
    left over goes to the columns whose text is longest."""
    cells = [[text(row[index]) for row in rows] for index in range(len(columns))]
    narrowest = [_narrowest(column, rows, index) for index, column in enumerate(columns)]
    widest = [max([len(cell) for cell in column_cells] + [narrowest[index]])
              for index, column_cells in enumerate(cells)]
    shown = list(range(len(columns)))
    droppable = sorted((index for index, column in enumerate(columns) if column.drop),
                       key=lambda index: -columns[index].drop)

    def room() -> int:
        return width - 1 - COLUMN_OVERHEAD * len(shown)

    while sum(narrowest[i] for i in shown) > room() and droppable:
        shown.remove(droppable.pop(0))
    widths = {i: narrowest[i] for i in shown}
    spare = room() - sum(widths.values())
    while spare > 0:  # one character at a time to the column that lacks the most
        index = max(shown, key=lambda i: (widest[i] - widths[i]) / widest[i])
        if widths[index] >= widest[index]:
            break
        widths[index] += 1
        spare -= 1
    table = Table(title=escape(title) if title else None)
    for index in shown:
        table.add_column(escape(columns[index].header), width=widths[index], overflow="fold")
    for row in rows:
        table.add_row(*(escape(text(row[index])) for index in shown))
    return table


def _narrowest(column: Column, rows: Sequence[Sequence[Cell]], index: int) -> int:
    """Names: the longest name, plus its comma in a list (a list wraps between names).
    Text: its longest word, at most MIN_TEXT_WIDTH (longer words fold)."""
    header = max(len(word) for word in column.header.split())
    values = [row[index] for row in rows]
    if column.names:
        lengths = [len(name) + (isinstance(value, (list, tuple)) and len(value) > 1)
                   for value in values
                   for name in (value if isinstance(value, (list, tuple)) else [text(value)])]
        return max(lengths + [header])
    words = [len(word) for value in values for word in text(value).split()]
    return max(header, min(max(words + [0]), MIN_TEXT_WIDTH))
