"""The segmentation evidence tables: mean ± standard deviation over seeds per method and
train fraction, from the records benchmarks/segmentation_smoke.sh wrote. Reads records only.

    python benchmarks/segmentation_table.py runs/segmentation-smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from tables import markdown, run_rows, summary

COLUMNS = ["dice", "dice_liver", "dice_lesion", "dice_lesion_present", "iou", "hd95",
           "hd95_lesion", "hd95_lesion_present", "train_s", "total_s"]  # absent ones skipped


def details(row: dict, record: dict) -> None:
    row["train_size"] = record["training"]["fit_data"]["train"]["size"]
    for name, metric in record["metrics"].items():
        for cls, value in metric["details"].get("per_class", {}).items():
            row[f"{name}_{cls}"] = value
        for cls, value in metric["details"].get("per_class_where_present", {}).items():
            row[f"{name}_{cls}_present"] = value


def records(folder: Path) -> pd.DataFrame:
    return run_rows(folder, details)


def main(root: Path) -> None:
    for folder in [*sorted(root.glob("fraction-*")), root / "vessels"]:
        if not folder.exists():
            continue
        table = records(folder)
        print(f"\n## {folder.name} (train size {sorted(set(table['train_size']))})\n")
        print(markdown(summary(table, COLUMNS)))
        print(f"\nstates: {table['state'].value_counts().to_dict()}; slowest run (s): "
              f"{table.groupby('method')['total_s'].max().round(1).to_dict()}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/segmentation-smoke"))
