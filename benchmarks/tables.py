"""What the evidence table scripts share: mean ± standard deviation over seeds, as Markdown."""

from __future__ import annotations

import pandas as pd


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
