"""One class per format; each escapes everything that comes from records for its format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pandas as pd

from medbench.api import (
    Cells,
    Leaderboard,
    Reporter,
    agreement_cells,
    escape_latex,
    escape_markdown,
    header_lines,
    html_page,
    html_section,
    leaderboard_cells,
    legend,
    per_class_cells,
)


class SectionReporter(Reporter):
    """A document that is one section per table."""

    def render(self, boards: Sequence[Leaderboard]) -> str:
        return "\n".join(self.section(board) for board in boards)

    def section(self, board: Leaderboard) -> str:
        raise NotImplementedError


class MarkdownReporter(SectionReporter):
    name: ClassVar[str] = "markdown"
    suffix: ClassVar[str] = "md"
    summary: ClassVar[str] = "GitHub-flavoured Markdown: a section per table"

    def section(self, board: Leaderboard) -> str:
        parts = [f"## {escape_markdown(board.title)}\n"]
        header = header_lines(board)
        if header:
            parts.append("What was measured:\n\n" + "\n".join(
                f"- {escape_markdown(line)}" for line in header) + "\n")
        parts.append(_markdown_table(leaderboard_cells(board)))
        if board.references:
            parts += ["Reference rows:\n", _markdown_table(leaderboard_cells(board, True))]
        parts.append("\n".join(f"- {escape_markdown(line)}" for line in legend(board)) + "\n")
        for metric in board.per_class:
            parts += [f"{escape_markdown(metric)} per class (mean over seeds):\n",
                      _markdown_table(per_class_cells(board, metric))]
        if board.images:
            parts.append(_markdown_gallery(board))
        agreement = agreement_cells(board)
        if agreement is not None:
            parts += ["Metric agreement (Kendall's τ):\n", _markdown_table(agreement)]
        return "\n".join(parts)


def _markdown_gallery(board: Leaderboard) -> str:
    """Every row's fixed-case panel; the files sit beside the table (leaderboard --out)."""
    captions = sorted({image.caption for image in board.images.values()})
    lines = ["### Images on fixed cases\n"]
    lines += [f"{escape_markdown(caption)}.\n" for caption in captions]
    for row in board.rows:
        image = board.images.get(row.label)
        if image is not None:
            alt = escape_markdown(f"{row.label}, seed {image.seed}")
            lines.append(f"**{escape_markdown(row.label)}** (seed {image.seed}, run "
                         f"{escape_markdown(image.run_id)}):\n\n"
                         f"![{alt}]({board.image_path(row.label)})\n")
    return "\n".join(lines)


def _markdown_table(cells: Cells) -> str:
    lines = ["| " + " | ".join(escape_markdown(cell) for cell in cells.header) + " |",
             "|" + "---|" * len(cells.header)]
    lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |"
              for row in cells.rows]
    return "\n".join(lines) + "\n"


class CsvReporter(Reporter):
    name: ClassVar[str] = "csv"
    suffix: ClassVar[str] = "csv"
    summary: ClassVar[str] = ("one row per method and table, every aggregate in its own "
                              "column (mean, sd, CI, n per metric)")

    def render(self, boards: Sequence[Leaderboard]) -> str:
        frames = [board.to_frame() for board in boards]
        if not frames:
            return ""
        # Cells are quoted by pandas' csv writer; floats keep 10 significant digits so that
        # the file regenerates byte for byte.
        return pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.10g",
                                                           lineterminator="\n")


class LatexReporter(SectionReporter):
    name: ClassVar[str] = "latex"
    suffix: ClassVar[str] = "tex"
    summary: ClassVar[str] = "LaTeX tables for papers (needs \\usepackage{booktabs})"

    def section(self, board: Leaderboard) -> str:
        cells = leaderboard_cells(board)
        references = leaderboard_cells(board, True)
        lines = [r"\begin{table}[ht]", r"\centering", r"\small",
                 rf"\caption{{{escape_latex(board.title)}}}",
                 rf"\begin{{tabular}}{{{'l' * len(cells.header)}}}", r"\toprule",
                 _latex_row(cells.header), r"\midrule"]
        lines += [_latex_row(row) for row in cells.rows]
        if references.rows:
            lines.append(r"\midrule")
            lines += [_latex_row(row) for row in references.rows]
        lines += [r"\bottomrule", r"\end{tabular}", r"\par\medskip", r"\footnotesize"]
        lines += [escape_latex(line) + r"\\" for line in header_lines(board) + legend(board)]
        lines += [r"\end{table}", ""]
        return "\n".join(lines)


def _latex_row(cells: Sequence[str]) -> str:
    return " & ".join(escape_latex(cell) for cell in cells) + r" \\"


class HtmlReporter(Reporter):
    name: ClassVar[str] = "html"
    suffix: ClassVar[str] = "html"
    summary: ClassVar[str] = "one self-contained HTML page (`medbench report` builds a site)"

    def render(self, boards: Sequence[Leaderboard]) -> str:
        return html_page("medbench leaderboards", "".join(html_section(b) for b in boards))
