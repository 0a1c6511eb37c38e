"""The synthesis evidence tables: mean ± standard deviation over seeds of each metric, per
method, from the records that benchmarks/synthesis_smoke.sh wrote. Reads records only.

    python benchmarks/synthesis_table.py runs/synthesis-smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from tables import markdown, run_rows, summary

WHOLE = ["fd_randcnn", "kid_randcnn", "precision_randcnn", "recall_randcnn",
         "density_randcnn", "coverage_randcnn", "memorization"]
SCARCE = ["downstream_gain", "downstream_auroc_gain", "tstr_balanced_accuracy"]
LABELLED = [*SCARCE, "fd_randcnn", "kid_randcnn"]


def details(row: dict, record: dict) -> None:
    row["evaluate_s"] = record["timings"]["evaluate_seconds"]
    gain = record["metrics"].get("downstream_gain")
    if gain is not None and gain["value"] is not None:
        arms = gain["details"]["arms"]
        row["baseline_balanced_accuracy"] = arms["real"]["balanced_accuracy"]
        row["baseline_macro_auroc"] = arms["real"]["macro_auroc"]
        row["augmented_balanced_accuracy"] = arms["real+synthetic"]["balanced_accuracy"]


def records(folder: Path) -> pd.DataFrame:
    return run_rows(folder, details)


def main(root: Path) -> None:
    whole = records(root / "whole")
    print("## Methods trained whole (default metrics)\n")
    print(markdown(summary(whole, WHOLE + ["train_s", "total_s"])))
    labelled = records(root / "labelled")
    print("\n## Downstream classifier metrics (unconditional methods per class)\n")
    print(markdown(summary(labelled, LABELLED + ["baseline_balanced_accuracy",
                                                 "baseline_macro_auroc", "train_s",
                                                 "total_s"])))
    scarce_folder = root / "scarce"
    if scarce_folder.exists():
        scarce = records(scarce_folder)
        print("\n## Data-scarce arm (real_fraction 0.1), same checkpoints\n")
        print(markdown(summary(scarce, SCARCE + ["baseline_balanced_accuracy",
                                                 "baseline_macro_auroc"])))
    for name, table in (("whole", whole), ("labelled", labelled)):
        print(f"\nslowest {name} run per method (s):",
              table.groupby("method")["total_s"].max().round(1).to_dict())
        failed = table[table["state"] != "ok"]
        if len(failed):
            print(f"not ok ({name}):", failed[["method", "seed", "state"]].to_dict("records"))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/synthesis-smoke"))
