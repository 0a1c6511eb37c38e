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


SEED_MARKERS = "osD^vP*Xph"


def _interval(aggregate) -> tuple[float, float]:
    """Distances from the mean to the interval's ends (0 where there is none)."""
    if math.isnan(aggregate.ci_low):
        return 0.0, 0.0
    return aggregate.mean - aggregate.ci_low, aggregate.ci_high - aggregate.mean


def seed_spread(board: Leaderboard, path: Path) -> bool:
    """Every seed's value of the primary metric per method (one marker per seed), with the
    mean and its interval."""
    rows = [row for row in board.rows if board.primary in row.metrics]
    if not rows:
        return False
    seeds = sorted({seed for row in rows for seed in row.metrics[board.primary].per_seed})
    figure, axes = plt.subplots(figsize=(7.5, 0.5 * len(rows) + 1.8))
    for position, row in enumerate(reversed(rows)):
        aggregate = row.metrics[board.primary]
        colour = REFERENCE_COLOUR if row.reference else METHOD_COLOUR
        low, high = _interval(aggregate)
        axes.errorbar([aggregate.mean], [position], xerr=[[low], [high]], fmt="|",
                      markersize=16, color="black", capsize=4, linewidth=1.2, zorder=1)
        for seed, value in aggregate.per_seed.items():
            axes.scatter([value], [position + 0.18], color=colour, alpha=0.8, s=30,
                         marker=SEED_MARKERS[seeds.index(seed) % len(SEED_MARKERS)], zorder=2)
    axes.set_yticks(range(len(rows)), [text(row.label) for row in reversed(rows)])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.margins(x=0.08)
    for seed in seeds:
        axes.scatter([], [], color="#555555", marker=SEED_MARKERS[seeds.index(seed) %
                                                                  len(SEED_MARKERS)],
                     label=f"seed {seed}")
    axes.legend(fontsize=8, loc="best")
    column = board.column(board.primary)
    axes.set_xlabel(f"{board.primary} ({'higher' if column.higher_is_better else 'lower'} "
                    f"is better); markers: seeds; bar: mean and its "
                    f"{board.interval.split(' of')[0]}", fontsize=8)
    axes.set_title(text(f"{board.task} on {board.dataset} ({board.budget}): spread over seeds"))
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def metric_versus_compute(board: Leaderboard, path: Path) -> bool:
    """The primary metric against mean training time: what each method's score costs.
    Methods are told apart by colour and marker in a legend, so labels never overlap."""
    rows = [row for row in board.rows
            if board.primary in row.metrics and row.train_seconds is not None]
    if not rows:
        return False
    figure, axes = plt.subplots(figsize=(8.5, 4.5))
    colours = plt.get_cmap("tab20").colors
    for index, row in enumerate(rows):
        aggregate = row.metrics[board.primary]
        low, high = _interval(aggregate)
        axes.errorbar([row.train_seconds], [aggregate.mean], yerr=[[low], [high]],
                      fmt=SEED_MARKERS[index % len(SEED_MARKERS)], capsize=3,
                      color=colours[index % len(colours)],
                      label=text(row.label + (" (reference)" if row.reference else "")))
    column = board.column(board.primary)
    axes.set_xlabel("mean training seconds per run")
    axes.set_ylabel(f"{board.primary} {column.arrow} (mean, {board.interval.split(' of')[0]})",
                    fontsize=8)
    axes.set_title(text(f"{board.task} on {board.dataset} ({board.budget}): metric vs compute"))
    axes.margins(0.08)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _save(figure, path)


def metric_versus_metric(board: Leaderboard, x_name: str, y_name: str, path: Path) -> bool:
    """Two metrics of every method (means with their intervals on both axes): does one
    predict the other? E.g. FD against downstream gain."""
    rows = [row for row in board.rows if x_name in row.metrics and y_name in row.metrics]
    if len(rows) < 2:
        return False
    figure, axes = plt.subplots(figsize=(8.5, 4.8))
    colours = plt.get_cmap("tab20").colors
    for index, row in enumerate(rows):
        x, y = row.metrics[x_name], row.metrics[y_name]
        x_low, x_high = _interval(x)
        y_low, y_high = _interval(y)
        axes.errorbar([x.mean], [y.mean], xerr=[[x_low], [x_high]], yerr=[[y_low], [y_high]],
                      fmt=SEED_MARKERS[index % len(SEED_MARKERS)], capsize=3,
                      color=colours[index % len(colours)],
                      label=text(row.label + (" (reference)" if row.reference else "")))
    x_column, y_column = board.column(x_name), board.column(y_name)
    axes.set_xlabel(f"{x_name} {x_column.arrow}")
    axes.set_ylabel(f"{y_name} {y_column.arrow}")
    axes.axhline(0.0, color="#999999", linewidth=0.8, linestyle="--")
    axes.set_title(text(f"{board.task} on {board.dataset} ({board.budget}): {x_name} vs "
                        f"{y_name}; bars: {board.interval.split(' of')[0]}"), fontsize=9)
    axes.margins(0.08)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
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

