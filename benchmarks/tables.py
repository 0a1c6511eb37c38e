"""What the evidence table scripts share: one row per run record, and mean ± standard
deviation over seeds as Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def run_rows(folder: Path,
             add: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
             ) -> pd.DataFrame:
    """One row per ``*/record.json`` under `folder` (sorted): method, seed, state, train_s,
    total_s and each metric's value; ``add(row, record)`` puts in a table's own columns."""
    rows = []
    for path in sorted(folder.glob("*/record.json")):
        record = json.loads(path.read_text())
        timings = record["timings"]
        row = {"method": record["method"]["name"], "seed": record["config"]["seed"],
               "state": record["status"]["state"], "train_s": timings["train_seconds"],
               "total_s": timings["total_seconds"]}
        row.update({name: metric["value"] for name, metric in record["metrics"].items()})
        if add is not None:
            add(row, record)
        rows.append(row)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per method (in first-seen order): the seed count and each column's
    mean ± standard deviation over seeds; columns the records lack are left out."""
    grouped = table.groupby("method", sort=False)
    out = pd.DataFrame(index=grouped.size().index)
    out["seeds"] = grouped.size()
    for column in columns:
        if column not in table:
            continue
        mean, std = grouped[column].mean(), grouped[column].std()
        out[column] = [f"{m:.4g} ± {s:.2g}" for m, s in zip(mean, std, strict=True)]
    return out


def markdown(table: pd.DataFrame) -> str:
    """A Markdown table (pandas' to_markdown needs tabulate, which medbench does not ship)."""
    header = [table.index.name or "method", *table.columns]
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, [index, *row])) + " |"
              for index, row in zip(table.index, table.itertuples(index=False), strict=True)]
    return "\n".join(lines)
