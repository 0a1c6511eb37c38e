"""The report's figures, drawn with matplotlib (Agg, no display) and saved as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report is built on servers and in CI

import matplotlib.pyplot as plt
import pandas as pd

from medbench.api.leaderboard import Leaderboard

REFERENCE_COLOUR = "#888888"
METHOD_COLOUR = "#1f5fa8"


def text(label: str) -> str:
    """A label matplotlib shows as written: '$' would start mathtext."""
    return label.replace("$", r"\$")


def seed_spread(board: Leaderboard, path: Path) -> bool:
    """Every seed's value of the primary metric, per method, with the mean marked."""
    rows = [row for row in board.rows if board.primary in row.metrics]
    if not rows:
        return False
    figure, axes = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.4))
    for position, row in enumerate(reversed(rows)):
        aggregate = row.metrics[board.primary]
        colour = REFERENCE_COLOUR if row.reference else METHOD_COLOUR
        values = list(aggregate.per_seed.values())
        axes.scatter(values, [position] * len(values), color=colour, alpha=0.7, s=28)
        axes.plot([aggregate.mean], [position], marker="|", markersize=18, color="black")
    axes.set_yticks(range(len(rows)), [text(row.label) for row in reversed(rows)])
    column = board.column(board.primary)
    axes.set_xlabel(f"{board.primary} ({'higher' if column.higher_is_better else 'lower'} "
                    f"is better); dots: seeds, bar: mean")
    axes.set_title(text(f"{board.task} on {board.dataset} ({board.budget}): spread over seeds"))
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def metric_versus_compute(board: Leaderboard, path: Path) -> bool:
    """The primary metric against mean training time: what each method's score costs."""
    rows = [row for row in board.rows
            if board.primary in row.metrics and row.train_seconds is not None]
    if not rows:
        return False
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        aggregate = row.metrics[board.primary]
        error = 0.0 if math.isnan(aggregate.sd) else aggregate.sd
        colour = REFERENCE_COLOUR if row.reference else METHOD_COLOUR
        axes.errorbar([row.train_seconds], [aggregate.mean], yerr=[error], fmt="o",
                      color=colour, capsize=3)
        axes.annotate(text(row.label), (row.train_seconds, aggregate.mean),
                      textcoords="offset points", xytext=(5, 4), fontsize=8)
    column = board.column(board.primary)
    axes.set_xlabel("mean training seconds per run")
    axes.set_ylabel(f"{board.primary} {column.arrow} (mean ± sd)")
    axes.set_title(text(f"{board.task} on {board.dataset} ({board.budget}): metric vs compute"))
    axes.grid(alpha=0.3)
    return _save(figure, path)


def agreement_matrix(board: Leaderboard, path: Path) -> bool:
    """Kendall's tau between the metrics' rankings, as a heat map (blank: undefined)."""
    names = [column.name for column in board.columns]
    values = [[board.agreement.get((a, b)) for b in names] for a in names]
    if len(names) < 2 or all(value is None for line in values for value in line):
        return False
    matrix = [[math.nan if value is None else value for value in line] for line in values]
    size = 0.55 * len(names) + 2.5
    figure, axes = plt.subplots(figsize=(size + 1, size))
    image = axes.imshow(matrix, cmap="RdBu", vmin=-1, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=60, ha="right")
    axes.set_yticks(range(len(names)), names)
    for i, line in enumerate(matrix):
        for j, value in enumerate(line):
            if not math.isnan(value):
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                          color="white" if abs(value) > 0.6 else "black")
    figure.colorbar(image, ax=axes, label="Kendall's τ (1: same ranking)")
    axes.set_title(text(f"{board.task}: metric agreement over {board.agreement_methods} "
                        f"methods"))
    return _save(figure, path)


def training_curves(losses: pd.DataFrame, title: str, path: Path) -> bool:
    """Every loss column of a run's losses.csv against images seen."""
    x_name = "images_seen" if "images_seen" in losses else "step"
    columns = [name for name in losses.columns if name not in ("step", "images_seen")
               and pd.api.types.is_numeric_dtype(losses[name])]
    if x_name not in losses or not columns or losses.empty:
        return False
    figure, axes = plt.subplots(figsize=(7, 3.5))
    for name in columns:
        axes.plot(losses[x_name], losses[name], label=text(name), linewidth=1)
    axes.set_xlabel(x_name.replace("_", " "))
    axes.set_ylabel("loss")
    axes.set_title(text(title))
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> bool:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True

