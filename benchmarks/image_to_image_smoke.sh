#!/usr/bin/env bash
# Every image-to-image method on every task it can run, at the smoke budget, with three
# seeds, through medbench commands; then the tables (mean ± standard deviation over seeds).
# On a 2-core CPU: about 30 minutes, once the three datasets are built and cached.
#   bash benchmarks/image_to_image_smoke.sh [OUT]
set -euo pipefail
OUT=${1:-runs/image-to-image-smoke}
SEEDS=${SEEDS:-"0 1 2"}
declare -A METHODS=(
  [translation]="identity unet-l1 pix2pix cyclegan"
  [translation-unpaired]="identity cyclegan"
  [reconstruction]="identity unet-l1 pix2pix"
  [conditional]="identity unet-l1 pix2pix"
)
for seed in $SEEDS; do
  for task in translation translation-unpaired reconstruction conditional; do
    for method in ${METHODS[$task]}; do
      medbench run --method "$method" --task "$task" --budget smoke --seed "$seed" \
        --out "$OUT/$task"
    done
  done
done
python "$(dirname "$0")/image_to_image_table.py" "$OUT"
