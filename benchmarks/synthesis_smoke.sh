#!/usr/bin/env bash
# Every synthesis method at the smoke budget with three seeds, through medbench commands,
# then the data-scarce arm of the downstream metrics by re-scoring each checkpoint, then the
# table (mean ± standard deviation over seeds). On a 2-core CPU: about 50 minutes.
#   bash benchmarks/synthesis_smoke.sh [OUT]
set -euo pipefail
OUT=${1:-runs/synthesis-smoke}
METHODS=${METHODS:-"holdout train-copy gaussian dcgan wgan-gp pggan acgan"}
SEEDS=${SEEDS:-"0 1 2"}
SCARCE="downstream_gain,downstream_auroc_gain,tstr_balanced_accuracy"

for seed in $SEEDS; do
  for method in $METHODS; do
    medbench run --method "$method" --task synthesis --budget smoke --seed "$seed" \
      --out "$OUT/full"
  done
done
for folder in "$OUT"/full/*/; do
  medbench evaluate "$folder" --out "$OUT/scarce" --metrics "$SCARCE" \
    --metric-option '*.real_fraction=0.1'
done
python "$(dirname "$0")/synthesis_table.py" "$OUT"
