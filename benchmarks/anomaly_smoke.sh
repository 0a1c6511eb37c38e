#!/usr/bin/env bash
# The abnormality-detection evidence: every anomaly method at the smoke budget with three
# seeds on the phantom; AnoGAN again with the paper's 500-step latent search instead of the
# smoke budget's 100 (same seeds, so the same trained GAN on one machine: only the search
# differs); every method on the retina-lesions photographs; then the tables. On a 2-core
# CPU: about 50 minutes.
#   bash benchmarks/anomaly_smoke.sh [OUT]
# SKIP_PHANTOM, SKIP_LONG_SEARCH, SKIP_RETINA (any value) leave a part out; SEEDS and METHODS
# narrow the lists.
set -euo pipefail
OUT=${1:-runs/anomaly-smoke}
SEEDS=${SEEDS:-"0 1 2"}
METHODS=${METHODS:-"autoencoder ganomaly f-anogan anogan"}
if [ -z "${SKIP_PHANTOM:-}" ]; then
  for seed in $SEEDS; do
    for method in $METHODS; do
      medbench run --method "$method" --task anomaly --budget smoke --seed "$seed" \
        --out "$OUT/smoke"
    done
  done
fi
if [ -z "${SKIP_LONG_SEARCH:-}" ]; then
  for seed in $SEEDS; do
    medbench run --method anogan --task anomaly --budget smoke --seed "$seed" \
      --set search_steps=500 --out "$OUT/search-500"
  done
fi
if [ -z "${SKIP_RETINA:-}" ]; then
  for seed in $SEEDS; do
    for method in $METHODS; do
      medbench run --method "$method" --task anomaly --dataset retina-lesions \
        --budget smoke --seed "$seed" --out "$OUT/retina-lesions"
    done
  done
fi
python "$(dirname "$0")/anomaly_table.py" "$OUT"
