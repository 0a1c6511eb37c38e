"""What every leaderboard format shows, as plain-text cells, and the escaping each format
needs: shared by the built-in reporters and the HTML report so that all of them show the
same table, and available to reporter plugins."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from medbench.api.leaderboard import Leaderboard, LeaderboardRow, format_number

__all__ = ["Cells", "agreement_cells", "escape_latex", "escape_markdown", "html_page",
           "html_section", "html_table", "leaderboard_cells", "legend"]


@dataclass(frozen=True)
class Cells:
    """A table as unescaped text: a header and rows, each row as long as the header."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def leaderboard_cells(board: Leaderboard, references: bool = False) -> Cells:
    """The ranked rows (or, with `references`, the reference rows) of `board`."""
    header = ["rank", "method", "vs best", "seeds"]
    header += [f"{column.name} {column.arrow}" for column in board.columns]
    header += ["train s", "device", "version"]
    rows = board.references if references else board.ranked
    return Cells(tuple(header), tuple(_row_cells(board, row) for row in rows))


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
    mark = "worse" if comparison.significant else "≈ best"
    return f"{mark} (p={format_number(comparison.p_value, 2)})"


def agreement_cells(board: Leaderboard) -> Cells | None:
    """Kendall's tau between the metrics' rankings, or None with too few ranked methods."""
    names = [column.name for column in board.columns]
    values = [board.agreement.get((a, b)) for a in names for b in names]
    if len(names) < 2 or all(value is None for value in values):
        return None
    rows = tuple((first, *(format_number(board.agreement.get((first, second)), 2)
                           for second in names)) for first in names)
    return Cells(("metric", *names), rows)


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
        "Each cell: mean ± standard deviation over seeds; for the primary metric also the "
        "95 % percentile-bootstrap interval of the mean (with 3 seeds, about their range).",
        f"vs best: a two-sided paired t-test over the seeds both share, against the best "
        f"method, at α = {board.alpha}, uncorrected; '≈ best' means the seeds do not "
        f"separate it from the best, not that it is as good.",
        "Reference rows are shown for scale and never ranked. train s: mean training "
        "seconds per run.",
    ]
    if board.agreement_methods >= 3:
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
    """An escaped HTML table."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in cells.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in cells.rows)
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    class_attr = f' class="{html.escape(classes)}"' if classes else ""
    return (f"<table{class_attr}>{caption_html}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def html_section(board: Leaderboard, heading: bool = True) -> str:
    """One leaderboard as escaped HTML: its tables, how to read them, metric agreement."""
    parts = [f"<h2>{html.escape(board.title)}</h2>" if heading else "",
             html_table(leaderboard_cells(board), "Ranked methods", "leaderboard")]
    if board.references:
        parts.append(html_table(leaderboard_cells(board, True), "Reference rows",
                                "references"))
    parts.append('<ul class="notes">' + "".join(f"<li>{html.escape(line)}</li>"
                                                for line in legend(board)) + "</ul>")
    agreement = agreement_cells(board)
    if agreement is not None:
        parts.append(html_table(agreement, "Metric agreement (Kendall's τ)", "agreement"))
    return f"<section>{''.join(parts)}</section>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; display: block;
        overflow-x: auto; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left;
         vertical-align: top; }
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
