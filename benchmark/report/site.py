"""`medbench report`: a self-contained static site over the leaderboards.

index.html lists the tables; each table has a page (what it measured, the leaderboard,
reference rows, per-class results, metric agreement, every method's images on the same
fixed cases, the runs behind each row, figures, and its CSV, LaTeX and records to
download); each method has a page (its model card, its place and images in every table, and
its training curves). Images and loss curves come from the records themselves, so a report
built from exported records shows them; run folders, where given, add the full loss logs.
Every name and note comes from records or plugins, so all of it is escaped, file names are
derived from it safely, and artifacts are only read from plain file names inside the run
folders.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markdown_it import MarkdownIt

from medbench.api.leaderboard import (
    Leaderboard,
    LeaderboardRow,
    Reporter,
    format_number,
    safe_slug,
)
from medbench.api.reporting import html_page, html_section
from medbench.record.schema import ResultRecord
from medbench.report import plots
from medbench.report.leaderboards import row_label, typed
from medbench.store.record_files import write_record_lines

ASSETS = "assets"
DOWNLOADS = "downloads"
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # no slash, no leading dot


@dataclass
class Site:
    out: Path
    boards: list[Leaderboard]
    records: list[ResultRecord]
    cards: dict[str, str | None]  # method -> its model card (Markdown); None: none here
    runs_dir: Path | None = None
    reporters: list[Reporter] = field(default_factory=list)  # formats offered for download
    pages: list[Path] = field(default_factory=list)
    runs: dict[tuple[str, ...], ResultRecord] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)  # assets already written by this build
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> the record
    # as stored, for its download

    def __post_init__(self) -> None:
        """The records by table and run id, looked up once per method row."""
        for record in self.records:
            key = (record.task.name, record.dataset.name, record.config.budget,
                   row_label(record), str(record.run_id))
            self.runs[key] = record

    def board_page(self, board: Leaderboard) -> str:
        return f"board-{board.slug}.html"

    def method_page(self, method: str) -> str:
        return f"method-{safe_slug(method)}.html"


def build_site(out: Path, boards: list[Leaderboard], records: list[dict[str, Any]],
               cards: dict[str, str | None], runs_dir: Path | None = None,
               reporters: list[Reporter] | None = None) -> list[Path]:
    """Write the site under `out`; returns the pages written. `records` as stored: the
    download holds them as they are; the pages read them typed."""
    (out / ASSETS).mkdir(parents=True, exist_ok=True)
    (out / DOWNLOADS).mkdir(parents=True, exist_ok=True)
    site = Site(out, boards, [typed(record) for record in records], cards, runs_dir,
                reporters or [], stored={str(record["run_id"]): record for record in records})
    write_record_lines(out / DOWNLOADS / "records.jsonl.gz", records)
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
        score = ""
        if best is not None and board.primary in best.metrics:
            aggregate = best.metrics[board.primary]
            score = (f"{board.primary} {format_number(aggregate.mean)} "
                     f"{board.column(board.primary).arrow}")
        rows.append(
            f'<tr><td><a href="{html.escape(site.board_page(board))}">'
            f"{html.escape(board.task)}</a></td><td>{html.escape(board.dataset)} "
            f"{html.escape(board.dataset_version)}</td><td>{html.escape(board.budget)}</td>"
            f"<td>{len(board.ranked)}</td><td>{len(board.references)}</td>"
            f"<td>{html.escape(board.primary)}</td>"
            f"<td>{html.escape(best.label) if best else '—'}</td><td>{html.escape(score)}</td>"
            f"</tr>")
    table = ('<div class="wide"><table><thead><tr><th>task</th><th>dataset</th><th>budget</th>'
             "<th>ranked methods</th><th>reference rows</th><th>primary metric</th>"
             "<th>best</th><th>its mean</th></tr></thead><tbody>" + "".join(rows)
             + "</tbody></table></div>")
    methods = sorted({row.method for board in site.boards for row in board.rows})
    method_links = "".join(f'<li><a href="{html.escape(site.method_page(name))}">'
                           f"{html.escape(name)}</a></li>" for name in methods)
    runs = sum(1 for record in site.records if record.status.state == "ok")
    body = (f"<p>{len(site.boards)} tables from {runs} finished runs. Every number is a "
            f"mean over seeds; no single run is a result. All records: "
            f'<a href="{DOWNLOADS}/records.jsonl.gz">records.jsonl.gz</a> '
            f"(<code>medbench results import</code> reads it).</p><h2>Tables</h2>{table}"
            f"<h2>Methods</h2><ul>{method_links}</ul>")
    return html_page("medbench report", body)


# What the computed distances should predict: usefulness downstream, and readers' judgement.
DOWNSTREAM_METRICS = ("downstream_gain", "scarce_downstream_gain", "lesion_downstream_gain",
                      "scarce_lesion_downstream_gain", "reader_auc")


def _board(site: Site, board: Leaderboard) -> str:
    parts = [html_section(board, heading=False)]
    methods = sorted({row.method for row in board.rows})
    parts.append("<p>Methods: " + ", ".join(
        f'<a href="{html.escape(site.method_page(name))}">{html.escape(name)}</a>'
        for name in methods) + "</p>")
    parts.append(_gallery(site, board))
    parts.append(_runs_table(site, board))
    parts.append(_downloads(site, board))
    stem = board.slug
    figures = [
        (plots.seed_spread, f"{stem}-seeds.png",
         f"Every seed of the primary metric, with the mean and its {board.interval}"),
        (plots.metric_versus_compute, f"{stem}-compute.png",
         "Primary metric against training time"),
        (plots.agreement_matrix, f"{stem}-agreement.png",
         "Metric agreement: where the metrics rank methods differently"),
    ]
    names = {column.name for column in board.columns}
    # Does the table's ranking metric (and realism, where that is not it) predict the
    # downstream use? One plot per pair, each method's mean with its interval on both axes.
    predictors = [board.primary] + (["fd_randcnn"] if "fd_randcnn" in names
                                    and board.primary != "fd_randcnn" else [])
    for useful in DOWNSTREAM_METRICS:
        for predictor in reversed(predictors):
            if useful in names and predictor != useful:
                suffix = useful if predictor == board.primary else f"{predictor}-{useful}"
                figures.insert(0, (lambda b, path, x=predictor, y=useful:
                                   plots.metric_versus_metric(b, x, y, path),
                                   f"{stem}-{suffix}.png",
                                   f"Does {predictor} predict {useful}? Each method's mean "
                                   f"with its {board.interval} on both axes"))
    for draw, name, caption in figures:
        if draw(board, site.out / ASSETS / name):
            parts.append(_figure(f"{ASSETS}/{name}", caption))
    return html_page(board.title, "".join(parts), NAV)


def _panel_asset(site: Site, board: Leaderboard, label: str) -> str | None:
    """The row's panel under assets/ (written once: the table page and the method page both
    show it); its path, or None when the row has none."""
    image = board.images.get(label)
    if image is None:
        return None
    name = f"{safe_slug(f'{board.slug}--{label}')}-panel.png"
    path = site.out / ASSETS / name
    if name not in site.written:
        path.write_bytes(image.png)
        site.written.add(name)
    return f"{ASSETS}/{name}"


def _gallery(site: Site, board: Leaderboard) -> str:
    """Every row's panel side by side: the same fixed cases for every method."""
    figures = []
    for row in board.rows:
        src = _panel_asset(site, board, row.label)
        if src is None:
            continue
        image = board.images[row.label]
        kind = " (reference)" if row.reference else ""
        figures.append(f'<figure><img src="{html.escape(src)}" alt="{html.escape(row.label)}">'
                       f"<figcaption>{html.escape(row.label)}{html.escape(kind)}, seed "
                       f"{image.seed}</figcaption></figure>")
    if not figures:
        return "<p>No run of this table kept images (records before schema 2.5).</p>"
    captions = sorted({image.caption for image in board.images.values()})
    return ("<h2>Images on fixed cases</h2>"
            + "".join(f"<p>{html.escape(caption)}.</p>" for caption in captions)
            + f'<div class="gallery">{"".join(figures)}</div>')


def _runs_table(site: Site, board: Leaderboard) -> str:
    """Which runs each row's numbers come from (seed: run ids, oldest first), each linked to
    its record as JSON."""
    lines = []
    for row in board.rows:
        links = []
        for seed, ids in sorted(row.sources.items()):
            runs = []
            for run_id in ids:
                name = f"{safe_slug(run_id)}.json"
                if run_id in site.stored:
                    (site.out / DOWNLOADS / "runs").mkdir(exist_ok=True)
                    (site.out / DOWNLOADS / "runs" / name).write_text(
                        json.dumps(site.stored[run_id], indent=1, sort_keys=True),
                        encoding="utf-8")
                runs.append(f'<a href="{DOWNLOADS}/runs/{html.escape(name)}">'
                            f"{html.escape(run_id)}</a>")
            links.append(f"seed {seed}: {' + '.join(runs)}")
        lines.append(f"<tr><td>{html.escape(row.label)}</td><td>{'; '.join(links)}</td></tr>")
    return ('<details><summary>The runs behind each row</summary><div class="wide"><table>'
            "<thead><tr><th>row</th><th>runs (their records; also in <code>medbench "
            "results show RUN</code>)</th></tr></thead><tbody>" + "".join(lines)
            + "</tbody></table></div></details>")


def _downloads(site: Site, board: Leaderboard) -> str:
    links = []
    for reporter in site.reporters:
        if reporter.suffix == "html":
            continue
        name = f"{board.slug}.{reporter.suffix}"
        (site.out / DOWNLOADS / name).write_text(reporter.render([board]), encoding="utf-8")
        links.append(f'<a href="{DOWNLOADS}/{html.escape(name)}">{html.escape(name)}</a>')
    links.append(f'<a href="{DOWNLOADS}/records.jsonl.gz">records.jsonl.gz</a> (every table)')
    return f"<p>Download: {' · '.join(links)}</p>"


def _figure(src: str, caption: str) -> str:
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _method(site: Site, method: str) -> str:
    parts = []
    card = site.cards.get(method)
    if card:
        # Markdown from the plugin; raw HTML in it is shown as text, never passed through.
        # Its own title would repeat the page's, and its sections sit below the page's h1.
        lines = card.lstrip().splitlines()
        if lines and lines[0].startswith("# "):
            lines = lines[1:]
        markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
        parts.append(f'<section class="card">{markdown.render(chr(10).join(lines))}</section>')
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
    src = _panel_asset(site, board, row.label)
    if src is not None:
        image = board.images[row.label]
        parts.append(_figure(src, f"{image.caption} (seed {image.seed}, run {image.run_id})"))
    run = _first_run(site, board, row)
    if run is not None:
        parts.append(_run_artifacts(site, board, row, run, samples=src is None))
    return "".join(parts) + "</section>"


def _first_run(site: Site, board: Leaderboard, row: LeaderboardRow) -> dict[str, Any] | None:
    """The record that counts for this row's lowest seed."""
    if not row.seeds:
        return None
    return site.runs.get((board.task, board.dataset, board.budget, row.label,
                          row.run_ids[row.seeds[0]]))


def _run_artifacts(site: Site, board: Leaderboard, row: LeaderboardRow,
                   record: ResultRecord, samples: bool = True) -> str:
    """The training curves of the row's lowest seed: the full log from the run folder when
    it is here, else the thinned one in the record; the sample grid only without a panel."""
    folder = _run_folder(site, record)
    seed = record.config.seed
    stem = safe_slug(f"{board.slug}--{row.label}")
    title = f"{row.label}: training losses (seed {seed})"
    if folder is None:
        curve = record.training.loss_curve if record.training is not None else {}
        name = f"{stem}-losses.png"
        try:
            table = pd.DataFrame(curve)
        except ValueError:
            table = pd.DataFrame()
        if not table.empty and plots.training_curves(table, title, site.out / ASSETS / name):
            return _figure(f"{ASSETS}/{name}",
                           f"Training curves (the record's thinned log: means of consecutive "
                           f"steps; run {record.run_id})")
        return (f"<p>Run {html.escape(str(record.run_id))} (seed {html.escape(str(seed))}): "
                f"no loss log in its record and its folder is not here.</p>")
    parts = [f"<p>Run {html.escape(str(record.run_id))}, seed {html.escape(str(seed))} "
             f"(the lowest seed of this row).</p>"]
    artifacts = record.artifacts
    sample_grid = _artifact(folder, artifacts.get("samples")) if samples else None
    if sample_grid is not None and sample_grid.suffix.lower() == ".png":
        samples_path = sample_grid
        name = f"{stem}-samples.png"
        shutil.copyfile(samples_path, site.out / ASSETS / name)
        parts.append(_figure(f"{ASSETS}/{name}", "Sample grid from the run"))
    losses = _artifact(folder, artifacts.get("losses"))
    if losses is not None:
        try:
            table = pd.read_csv(losses)
        except (ValueError, OSError):
            table = None
        name = f"{stem}-losses.png"
        if table is not None and plots.training_curves(table, title, site.out / ASSETS / name):
            parts.append(_figure(f"{ASSETS}/{name}", "Training curves"))
    return "".join(parts)


def _run_folder(site: Site, record: ResultRecord) -> Path | None:
    run_id = str(record.run_id)
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
