#!/usr/bin/env bash
# The segmentation evidence: unet and adversarial-unet at the smoke budget, three seeds, with
# all the train split, a tenth and a fiftieth of it (--train-fraction, the low-data arms where a
# shape prior should help most); then vessel-segmentation on the retina phantom; then the
# tables. On a 2-core CPU: about 35 minutes.
#   bash benchmarks/segmentation_smoke.sh [OUT]
set -euo pipefail
OUT=${1:-runs/segmentation-smoke}
SEEDS=${SEEDS:-"0 1 2"}
for seed in $SEEDS; do
  for fraction in ${FRACTIONS:-1.0 0.1 0.02}; do
    for method in unet adversarial-unet; do
      medbench run --method "$method" --task segmentation --budget smoke --seed "$seed" \
        --train-fraction "$fraction" --out "$OUT/fraction-$fraction"
    done
  done
done
# Retinal vessels (vessel-segmentation on the retina phantom), all of the train split.
if [ -z "${SKIP_VESSELS:-}" ]; then
  for seed in $SEEDS; do
    for method in unet adversarial-unet; do
      medbench run --method "$method" --task vessel-segmentation --budget smoke \
        --seed "$seed" --out "$OUT/vessels"
    done
  done
fi
python "$(dirname "$0")/segmentation_table.py" "$OUT"
