"""What every leaderboard format shows, as plain-text cells, and the escaping each format
needs: shared by the built-in reporters and the HTML report so that all of them show the
same table, and available to reporter plugins."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from medbench.api.leaderboard import Leaderboard, LeaderboardRow, format_number

__all__ = ["Cells", "agreement_cells", "escape_latex", "escape_markdown", "header_lines",
           "html_page", "html_section", "html_table", "leaderboard_cells", "legend",
           "per_class_cells"]


@dataclass(frozen=True)
class Cells:
    """A table as unescaped text: a header and rows, each row as long as the header.
    `hints` (same shape as `rows`, or empty) hold what a cell shows on hover in HTML, e.g.
    each seed's value."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    hints: tuple[tuple[str, ...], ...] = ()


def leaderboard_cells(board: Leaderboard, references: bool = False) -> Cells:
    """The ranked rows (or, with `references`, the reference rows) of `board`."""
    header = ["rank", "method", "vs best", "seeds"]
    header += [f"{column.name} {column.arrow}" for column in board.columns]
    header += ["train s", "device", "version"]
    rows = board.references if references else board.ranked
    hints = tuple(("", "", "", ", ".join(f"seed {seed}: run {'+'.join(ids)}"
                                        for seed, ids in sorted(row.sources.items())))
                  + tuple(row.metrics[column.name].seed_values() if column.name in row.metrics
                          else "" for column in board.columns)
                  + ("", "", "") for row in rows)
    return Cells(tuple(header), tuple(_row_cells(board, row) for row in rows), hints)


def _row_cells(board: Leaderboard, row: LeaderboardRow) -> tuple[str, ...]:
    seeds = str(len(row.seeds)) + (f" ({row.failed} failed)" if row.failed else "")
    cells = [str(row.rank) if row.rank is not None else "—", row.label,
             _versus_best(row), seeds]
    for column in board.columns:
        value = row.metrics.get(column.name)
        if value is None:
            cells.append("—")
            continue
        text = format_number(value.mean)
        if value.n > 1:
            # Seeds that agree up to float rounding (a reference row) show a spread of 0.
            sd = 0.0 if value.sd <= 1e-9 * abs(value.mean) else value.sd
            text += f" ± {format_number(sd, 2)}"
            if column.name == board.primary:
                text += f" [{format_number(value.ci_low)}, {format_number(value.ci_high)}]"
        cells.append(text)
    cells += [format_number(row.train_seconds, 3), "; ".join(row.devices),
              "; ".join(row.versions)]
    return tuple(cells)


def _versus_best(row: LeaderboardRow) -> str:
    if row.reference:
        return "reference"
    if row.rank is None:
        return "unranked"
    if row.best:
        return "best"
    comparison = row.versus_best
    if comparison is None or comparison.significant is None:
        return "untested"
    mark = "worse" if comparison.significant else "not separated"
    return f"{mark} (Holm p={format_number(comparison.p_holm, 2)})"


def agreement_cells(board: Leaderboard) -> Cells | None:
    """Kendall's tau between the metrics' rankings ("n/a" where it would mean nothing;
    `legend` says why), or None when no pair of metrics has one."""
    names = [column.name for column in board.columns]
    values = [board.agreement.get((a, b)) for a in names for b in names]
    if len(names) < 2 or all(value is None for value in values):
        return None
    rows = tuple((first, *(format_number(tau, 2) if (tau := board.agreement.get(
        (first, second))) is not None else "n/a" for second in names)) for first in names)
    return Cells(("metric", *names), rows)


def per_class_cells(board: Leaderboard, metric: str) -> Cells:
    """One metric's mean over seeds per class (columns) and method (rows)."""
    classes = list(board.per_class[metric])
    labels = [row.label for row in board.rows
              if any(row.label in board.per_class[metric][name] for name in classes)]
    rows = tuple((label, *(format_number(board.per_class[metric][name].get(label))
                           for name in classes)) for label in labels)
    return Cells(("method", *classes), rows)


def header_lines(board: Leaderboard) -> list[str]:
    """What the table measured, one "what: value" line each (its provenance)."""
    return [f"{key}: {value}" for key, value in board.provenance.items() if value]


def legend(board: Leaderboard) -> list[str]:
    """How to read `board`, one sentence each, then its notes."""
    primary = board.column(board.primary) if board.primary in \
        {column.name for column in board.columns} else None
    lines = []
    if primary is not None:
        direction = "higher" if primary.higher_is_better else "lower"
        lines.append(f"Ranked by {primary.name} ({direction} is better), the task's primary "
                     f"metric.")
    lines += [
        f"Each cell: mean ± standard deviation over seeds; for the primary metric also, in "
        f"brackets, the {board.interval}. Each seed's value is in the CSV (and on hover in "
        f"HTML).",
        f"vs best: a two-sided paired t-test over the seeds both share, against the best "
        f"method, its p-value Holm-corrected over the table's comparisons, at α = "
        f"{board.alpha}. 'not separated' (CSV: tied_with_best) means the seeds do not "
        f"separate it from the best, not that it is as good.",
        "Reference rows are shown for scale and never ranked. train s: mean training "
        "seconds per run.",
    ]
    if any(tau is not None for tau in board.agreement.values()):
        lines.append(f"Metric agreement: Kendall's τ between the rankings of the "
                     f"{board.agreement_methods} ranked methods under each pair of metrics "
                     f"(1 = same order, −1 = reversed).")
        disagree = [f"{name} (τ = {format_number(tau, 2)})"
                    for name in (column.name for column in board.columns)
                    if name != board.primary
                    and (tau := board.agreement.get((board.primary, name))) is not None
                    and tau <= 0]
        if disagree:
            lines.append(f"Metrics that do not rank the methods as {board.primary} does: "
                         f"{', '.join(disagree)}.")
    unexplained: dict[str, list[str]] = {}
    for (first, second), reason in sorted(board.agreement_reasons.items()):
        if first < second:
            unexplained.setdefault(reason, []).append(f"{first} × {second}")
    for reason, pairs in unexplained.items():
        shown = ", ".join(pairs[:4]) + (f" and {len(pairs) - 4} more" if len(pairs) > 4 else "")
        lines.append(f"Kendall's τ n/a for {shown}: {reason}.")
    return lines + [f"Note: {note}" for note in board.notes]


# Cells never start a line, so only inline markup needs escaping; with [ and ] escaped no
# parenthesis can form a link.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape_markdown(text: str) -> str:
    """Text that Markdown (GitHub's included) shows as written: no markup, no HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$",
                  "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}
_LATEX_SYMBOLS = {"±": r"$\pm$", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "≈": r"$\approx$",
                  "—": "---", "−": "$-$", "α": r"$\alpha$", "τ": r"$\tau$"}


def escape_latex(text: str) -> str:
    """Text that LaTeX typesets as written (the symbols medbench uses included)."""
    out = "".join(_LATEX_SPECIAL.get(char, char) for char in text)
    for symbol, command in _LATEX_SYMBOLS.items():
        out = out.replace(symbol, command)
    return out


def html_table(cells: Cells, caption: str = "", classes: str = "") -> str:
    """An escaped HTML table; a cell with a hint shows it on hover (its title)."""
    # A metric's name may break after an underscore, so that wide tables fit a screen.
    head = "".join(f"<th>{html.escape(cell).replace('_', '_<wbr>')}</th>"
                   for cell in cells.header)
    hints = cells.hints or tuple(("",) * len(row) for row in cells.rows)
    body = "".join(
        "<tr>" + "".join(f'<td title="{html.escape(hint)}">{html.escape(cell)}</td>' if hint
                         else f"<td>{html.escape(cell)}</td>"
                         for cell, hint in zip(row, row_hints, strict=True)) + "</tr>"
        for row, row_hints in zip(cells.rows, hints, strict=True))
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    class_attr = f' class="{html.escape(classes)}"' if classes else ""
    return (f"<table{class_attr}>{caption_html}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def column_groups(cells: Cells, keep: int, size: int) -> list[Cells]:
    """`cells` as several tables that each fit a screen: the first `keep` columns (rank,
    method, ...) in every one, the others `size` at a time."""
    rest = list(range(keep, len(cells.header)))
    if len(rest) <= size:
        return [cells]
    hints = cells.hints or tuple(("",) * len(cells.header) for _ in cells.rows)
    groups = []
    for start in range(0, len(rest), size):
        columns = list(range(keep)) + rest[start : start + size]
        groups.append(Cells(tuple(cells.header[i] for i in columns),
                            tuple(tuple(row[i] for i in columns) for row in cells.rows),
                            tuple(tuple(row[i] for i in columns) for row in hints)))
    return groups


def _wide_tables(cells: Cells, caption: str, classes: str, keep: int, size: int) -> str:
    groups = column_groups(cells, keep, size)
    return "".join(
        '<div class="wide">' + html_table(
            group, caption if len(groups) == 1 else f"{caption} ({number} of {len(groups)})",
            classes) + "</div>"
        for number, group in enumerate(groups, start=1))


TABLE_COLUMNS = 7  # metric columns per HTML table: a table of more is split to fit 1,280 px


def html_section(board: Leaderboard, heading: bool = True) -> str:
    """One leaderboard as escaped HTML: what it measured, its tables, how to read them,
    per-class results and metric agreement."""
    facts = "".join(f"<dt>{html.escape(key)}</dt><dd>{html.escape(value)}</dd>"
                    for key, value in board.provenance.items() if value)
    parts = [f"<h2>{html.escape(board.title)}</h2>" if heading else "",
             f'<dl class="provenance">{facts}</dl>' if facts else "",
             _wide_tables(leaderboard_cells(board), "Ranked methods", "leaderboard", 4,
                          TABLE_COLUMNS)]
    if board.references:
        parts.append(_wide_tables(leaderboard_cells(board, True), "Reference rows",
                                  "references", 4, TABLE_COLUMNS))
    parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(line)}</li>"
                                                for line in legend(board)) + "</ul>")
    for metric in board.per_class:
        parts.append(_wide_tables(per_class_cells(board, metric),
                                  f"{metric} per class (mean over seeds)", "per-class", 1,
                                  TABLE_COLUMNS))
    agreement = agreement_cells(board)
    if agreement is not None:
        parts.append(_wide_tables(agreement, "Metric agreement (Kendall's τ)", "agreement", 1,
                                  TABLE_COLUMNS + 2))
    return f"<section>{''.join(parts)}</section>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 110rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
p, ul, dl, figcaption { max-width: 72rem; }
.wide { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.8rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25rem 0.4rem; text-align: left;
         vertical-align: top; }
td { overflow-wrap: normal; word-break: normal; }
td[title] { cursor: help; text-decoration: underline dotted #999; }
.provenance { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem;
              font-size: 0.9rem; background: #f6f6f6; padding: 0.6rem 0.8rem; }
.provenance dt { font-weight: 600; }
.provenance dd { margin: 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 1rem; }
.gallery figure { margin: 0; }
.gallery img { image-rendering: pixelated; }
thead th { border-bottom: 2px solid #333; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.notes { color: #444; font-size: 0.9rem; }
nav { margin-bottom: 1.5rem; }
"""


def html_page(title: str, body: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A complete, self-contained HTML5 page (no script, no external resource). `body` is
    HTML already escaped by the caller; `nav` holds (href, text) pairs."""
    links = " · ".join(f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
                       for href, text in nav)
    nav_html = f"<nav>{links}</nav>" if links else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{nav_html}<h1>{html.escape(title)}</h1>{body}</body></html>\n")
