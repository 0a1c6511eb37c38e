"""`medbench report`: a self-contained static site over the leaderboards.

index.html lists the tables; each table has a page (the leaderboard, reference rows,
metric agreement and three figures); each method has a page (its model card, its place in
every table, a sample grid and training curves of its runs). Every name and note comes
from records or plugins, so all of it is escaped, file names are derived from it safely,
and artifacts are only read from plain file names inside the run folders.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markdown_it import MarkdownIt

from medbench.api.leaderboard import Leaderboard, LeaderboardRow, format_number, safe_slug
from medbench.api.reporting import html_page, html_section
from medbench.report import plots
from medbench.report.leaderboards import row_label

ASSETS = "assets"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # no slash, no leading dot


@dataclass
class Site:
    out: Path
    boards: list[Leaderboard]
    records: list[dict[str, Any]]
    cards: dict[str, str | None]  # method -> its model card (Markdown); None: none here
    runs_dir: Path | None = None
    pages: list[Path] = field(default_factory=list)
    runs: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The records by table and run id, looked up once per method row."""
        for record in self.records:
            key = (record["task"]["name"], record["dataset"]["name"],
                   record["config"]["budget"], row_label(record), str(record["run_id"]))
            self.runs[key] = record

    def board_page(self, board: Leaderboard) -> str:
        return f"board-{board.slug}.html"

    def method_page(self, method: str) -> str:
        return f"method-{safe_slug(method)}.html"


def build_site(out: Path, boards: list[Leaderboard], records: list[dict[str, Any]],
               cards: dict[str, str | None], runs_dir: Path | None = None) -> list[Path]:
    """Write the site under `out`; returns the pages written."""
    (out / ASSETS).mkdir(parents=True, exist_ok=True)
    site = Site(out, boards, records, cards, runs_dir)
    _write(site, "index.html", _index(site))
    for board in boards:
        _write(site, site.board_page(board), _board(site, board))
    for method in sorted({row.method for board in boards for row in board.rows}):
        _write(site, site.method_page(method), _method(site, method))
    return site.pages


def _write(site: Site, name: str, text: str) -> None:
    path = site.out / name
    path.write_text(text, encoding="utf-8")
    site.pages.append(path)


NAV = [("index.html", "All tables")]


def _index(site: Site) -> str:
    rows = []
    for board in site.boards:
        best = next((row for row in board.ranked if row.best), None)
        rows.append(
            f'<tr><td><a href="{html.escape(site.board_page(board))}">'
            f"{html.escape(board.task)}</a></td><td>{html.escape(board.dataset)} "
            f"{html.escape(board.dataset_version)}</td><td>{html.escape(board.budget)}</td>"
            f"<td>{len(board.rows)}</td><td>{html.escape(board.primary)}</td>"
            f"<td>{html.escape(best.label) if best else '—'}</td></tr>")
    table = ("<table><thead><tr><th>task</th><th>dataset</th><th>budget</th><th>rows</th>"
             "<th>primary metric</th><th>best</th></tr></thead><tbody>" + "".join(rows)
             + "</tbody></table>")
    methods = sorted({row.method for board in site.boards for row in board.rows})
    method_links = "".join(f'<li><a href="{html.escape(site.method_page(name))}">'
                           f"{html.escape(name)}</a></li>" for name in methods)
    runs = sum(1 for record in site.records if record["status"]["state"] == "ok")
    body = (f"<p>{len(site.boards)} tables from {runs} finished runs. Every number is a "
            f"mean over seeds; no single run is a result.</p><h2>Tables</h2>{table}"
            f"<h2>Methods</h2><ul>{method_links}</ul>")
    return html_page("medbench report", body)


def _board(site: Site, board: Leaderboard) -> str:
    parts = [html_section(board, heading=False)]
    methods = sorted({row.method for row in board.rows})
    parts.append("<p>Methods: " + ", ".join(
        f'<a href="{html.escape(site.method_page(name))}">{html.escape(name)}</a>'
        for name in methods) + "</p>")
    stem = board.slug
    figures = [
        (plots.seed_spread, f"{stem}-seeds.png", "Spread over seeds of the primary metric"),
        (plots.metric_versus_compute, f"{stem}-compute.png",
         "Primary metric against training time"),
        (plots.agreement_matrix, f"{stem}-agreement.png",
         "Metric agreement: where the metrics rank methods differently"),
    ]
    for draw, name, caption in figures:
        if draw(board, site.out / ASSETS / name):
            parts.append(_figure(f"{ASSETS}/{name}", caption))
    return html_page(board.title, "".join(parts), NAV)


def _figure(src: str, caption: str) -> str:
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _method(site: Site, method: str) -> str:
    parts = []
    card = site.cards.get(method)
    if card:
        # Markdown from the plugin; raw HTML in it is shown as text, never passed through.
        markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
        parts.append(f'<section class="card">{markdown.render(card)}</section>')
    else:
        parts.append("<p>No model card: this method is not installed here, or ships none.</p>")
    for board in site.boards:
        for row in (row for row in board.rows if row.method == method):
            parts.append(_method_in_board(site, board, row))
    return html_page(f"Method {method}", "".join(parts), NAV)


def _method_in_board(site: Site, board: Leaderboard, row: LeaderboardRow) -> str:
    primary = row.metrics.get(board.primary)
    standing = "reference row" if row.reference else (
        f"rank {row.rank} of {len([r for r in board.ranked if r.rank is not None])}"
        if row.rank is not None else "unranked")
    score = (f"{board.primary} {format_number(primary.mean)} ± "
             f"{format_number(primary.sd, 2)} over {primary.n} seed(s)" if primary else
             f"no {board.primary}")
    parts = [f'<section><h2><a href="{html.escape(site.board_page(board))}">'
             f"{html.escape(board.title)}</a></h2><p>{html.escape(row.label)}: "
             f"{html.escape(standing)}; {html.escape(score)}.</p>"]
    run = _first_run(site, board, row)
    if run is not None:
        parts.append(_run_artifacts(site, board, row, run))
    return "".join(parts) + "</section>"


def _first_run(site: Site, board: Leaderboard, row: LeaderboardRow) -> dict[str, Any] | None:
    """The record that counts for this row's lowest seed."""
    if not row.seeds:
        return None
    return site.runs.get((board.task, board.dataset, board.budget, row.label,
                          row.run_ids[row.seeds[0]]))


def _run_artifacts(site: Site, board: Leaderboard, row: LeaderboardRow,
                   record: dict[str, Any]) -> str:
    folder = _run_folder(site, record)
    seed = record["config"]["seed"]
    if folder is None:
        return (f"<p>Run {html.escape(str(record['run_id']))} (seed {html.escape(str(seed))}): "
                f"its folder is not here, so no sample grid or training curve.</p>")
    stem = safe_slug(f"{board.slug}--{row.label}")
    parts = [f"<p>Run {html.escape(str(record['run_id']))}, seed {html.escape(str(seed))} "
             f"(the lowest seed of this row).</p>"]
    artifacts = record.get("artifacts") or {}
    samples = _artifact(folder, artifacts.get("samples"))
    if samples is not None and samples.suffix.lower() == ".png":
        name = f"{stem}-samples.png"
        shutil.copyfile(samples, site.out / ASSETS / name)
        parts.append(_figure(f"{ASSETS}/{name}", "Sample grid from the run"))
    losses = _artifact(folder, artifacts.get("losses"))
    if losses is not None:
        try:
            table = pd.read_csv(losses)
        except (ValueError, OSError):
            table = None
        name = f"{stem}-losses.png"
        if table is not None and plots.training_curves(
                table, f"{row.label}: training losses (seed {seed})", site.out / ASSETS / name):
            parts.append(_figure(f"{ASSETS}/{name}", "Training curves"))
    return "".join(parts)


def _run_folder(site: Site, record: dict[str, Any]) -> Path | None:
    run_id = str(record.get("run_id", ""))
    if site.runs_dir is None or not _PLAIN_NAME.match(run_id):
        return None
    folder = site.runs_dir / run_id
    return folder if folder.is_dir() else None


def _artifact(folder: Path, name: Any) -> Path | None:
    if not isinstance(name, str) or not _PLAIN_NAME.match(name):
        return None  # never a path out of the run folder
    path = folder / name
    return path if path.is_file() else None


def cards_for(methods: set[str], registry: Any) -> dict[str, str | None]:
    """Each method's model card from the installed plugins, None where there is none."""
    return {method: registry.get(method).card() if method in registry else None
            for method in methods}
