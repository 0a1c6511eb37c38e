"""The abnormality-detection evidence tables: per method, the mean ± standard deviation over
seeds and a 95 % t-interval of the mean (3 seeds: mean ± 4.30 s / sqrt 3), from the records
benchmarks/anomaly_smoke.sh wrote. Reads records only.

    python benchmarks/anomaly_table.py runs/anomaly-smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from scipy import stats
from tables import markdown, run_rows, summary

METRICS = ["image_auroc", "image_auprc", "sensitivity_at_95_specificity", "pixel_auroc",
           "pixel_best_dice"]
COLUMNS = [*METRICS, "auroc_cyst", "auroc_metastasis", "auroc_hemangioma", "auroc_haemorrhage",
           "auroc_exudates", "score_ms_per_image",
           "train_s", "total_s"]


def details(row: dict, record: dict) -> None:
    row["search_steps"] = record["config"]["method_config"].get("search_steps")
    auroc = record["metrics"].get("image_auroc")
    if auroc is not None and auroc["status"] == "ok":
        row["score_ms_per_image"] = 1000 * auroc["details"]["score_seconds_per_image"]
        row.update({f"auroc_{kind}": value
                    for kind, value in auroc["details"]["per_kind"].items()})


def records(folder: Path) -> pd.DataFrame:
    return run_rows(folder, details)


def intervals(table: pd.DataFrame, metric: str) -> pd.Series:
    """Per method: the 95 % t-interval of the mean over seeds, as text."""
    def interval(values: pd.Series) -> str:
        n, mean, sem = len(values), values.mean(), values.std() / len(values) ** 0.5
        half = stats.t.ppf(0.975, n - 1) * sem if n > 1 else float("nan")
        return f"[{mean - half:.3f}, {mean + half:.3f}]"
    return table.groupby("method", sort=False)[metric].apply(interval)


def main(root: Path) -> None:
    for folder in (root / "smoke", root / "search-500", root / "retina-lesions"):
        if not folder.exists():
            continue
        everything = records(folder)
        table = everything[everything["state"] == "ok"]
        print(f"\n## {folder.name}\n")
        print(markdown(summary(table, COLUMNS)))
        ci = pd.DataFrame({f"{metric} 95% CI": intervals(table, metric)
                           for metric in ("image_auroc", "pixel_auroc") if metric in table})
        print("\n" + markdown(ci))
        print(f"\nstates: {everything['state'].value_counts().to_dict()}; slowest run (s): "
              f"{table.groupby('method')['total_s'].max().round(1).to_dict()}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/anomaly-smoke"))
