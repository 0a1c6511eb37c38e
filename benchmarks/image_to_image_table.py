"""The image-to-image evidence tables: mean ± standard deviation over seeds of each metric,
per task and method, from the records benchmarks/image_to_image_smoke.sh wrote; for
reconstruction, also the noisy input's own scores and each method's gain. Reads records only.

    python benchmarks/image_to_image_table.py runs/image-to-image-smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from tables import markdown, run_rows, summary

COLUMNS = {
    "translation": ["mae_hu", "psnr", "ssim", "fd_randcnn"],
    "translation-unpaired": ["mae_hu", "psnr", "ssim", "fd_randcnn"],
    "reconstruction": ["psnr", "psnr_gain", "ssim", "ssim_gain", "nmse", "mae_hu",
                       "fd_randcnn"],
    "conditional": ["fd_randcnn", "psnr", "ssim", "condition_dice"],
}


def details(row: dict, record: dict) -> None:
    row["train_img_per_s"] = record["training"]["images_seen"] \
        / max(record["timings"]["train_seconds"], 1e-9)
    for name, metric in record["metrics"].items():
        found = metric.get("details") or {}
        if "gain" in found:
            row[f"{name}_gain"] = found["gain"]
            row[f"{name}_input"] = found["input"]
        if "real_images_dice" in found:
            row["condition_dice_real"] = found["real_images_dice"]


def records(folder: Path) -> pd.DataFrame:
    return run_rows(folder, details)


def main(root: Path) -> None:
    for task, columns in COLUMNS.items():
        folder = root / task
        if not folder.exists():
            continue
        table = records(folder)
        print(f"\n## {task}\n")
        extra = ["psnr_input", "ssim_input"] if task == "reconstruction" else []
        extra += ["condition_dice_real"] if task == "conditional" else []
        print(markdown(summary(table, columns + extra + ["train_img_per_s", "train_s",
                                                        "total_s"])))
        print(f"\nstates: {table['state'].value_counts().to_dict()}; slowest run per "
              f"method (s): {table.groupby('method')['total_s'].max().round(1).to_dict()}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/image-to-image-smoke"))
