#!/usr/bin/env bash
# Every synthesis method at the smoke budget with three seeds, through medbench commands:
#   1. the default metrics: each method trained whole (fidelity, diversity, memorization);
#   2. the downstream classifier metrics, which need labelled images: unconditional methods
#      run the per-class protocol (one model per class, the budget split by class counts);
#   3. the data-scarce arm (real_fraction 0.1), re-scoring each checkpoint of pass 2;
# then the tables (mean ± standard deviation over seeds). On a 2-core CPU: about 45 minutes.
#   bash benchmarks/synthesis_smoke.sh [OUT]
set -euo pipefail
OUT=${1:-runs/synthesis-smoke}
METHODS=${METHODS:-"holdout train-copy gaussian dcgan wgan-gp pggan acgan"}
SEEDS=${SEEDS:-"0 1 2"}
LABELLED="downstream_gain,downstream_auroc_gain,tstr_balanced_accuracy"

for seed in $SEEDS; do
  for method in $METHODS; do
    medbench run --method "$method" --task synthesis --budget smoke --seed "$seed" \
      --out "$OUT/whole"
    medbench run --method "$method" --task synthesis --budget smoke --seed "$seed" \
      --out "$OUT/labelled" --metrics "$LABELLED,fd_randcnn,kid_randcnn"
  done
done
for folder in "$OUT"/labelled/*/; do
  medbench evaluate "$folder" --out "$OUT/scarce" --metrics "$LABELLED" \
    --metric-option '*.real_fraction=0.1'
done
python "$(dirname "$0")/synthesis_table.py" "$OUT"
