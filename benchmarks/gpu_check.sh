#!/usr/bin/env bash
# The GPU check: every built-in method on every task it supports (leaderboards/reference.toml)
# at the smoke budget on CUDA, seed 0, each task's default metrics; then, per run, training
# throughput and peak memory beside the committed CPU reference records of the same run.
#
#     bash benchmarks/gpu_check.sh [WORK_DIR]     # about 27 runs; minutes on a current GPU
#
# Offline: no weights are fetched, so Inception metrics are unavailable unless the weights
# are already in torch hub's cache. The table is also written to WORK_DIR/gpu_check.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else \
'gpu_check: no CUDA device here; run it on a machine with one')"
work=${1:-$(mktemp -d)}
mkdir -p "$work"
start=$(date +%s)
# A failed run is a row of the table, not a reason to stop.
MEDBENCH_DEVICE=cuda medbench sweep --file leaderboards/reference.toml --seeds 0 \
    --metrics default --offline --db "$work/gpu.sqlite" --out "$work/runs" || true
echo "gpu sweep: $(( $(date +%s) - start )) s"
python benchmarks/gpu_table.py "$work/gpu.sqlite" leaderboards/records.jsonl.gz \
    | tee "$work/gpu_check.txt"
# --compile on the GPU: the smoke DCGAN with and without it, training seconds side by side
# (the first call pays for compiling; docs/budgets.md says when that is won back).
for flag in plain compile; do
    MEDBENCH_DEVICE=cuda MEDBENCH_RESULTS_DB="$work/compile.sqlite" medbench run \
        --method dcgan --task synthesis --metrics fd_randcnn --offline \
        --out "$work/compile-$flag" $([[ $flag == compile ]] && echo --compile) \
        > "$work/compile-$flag.log" 2>&1 || true
done
python - "$work" <<'PY' | tee -a "$work/gpu_check.txt"
import json, pathlib, sys
for flag in ("plain", "compile"):
    for path in pathlib.Path(sys.argv[1], f"compile-{flag}").glob("*/record.json"):
        record = json.loads(path.read_text())
        print(f"dcgan smoke on cuda, {flag:7s}: train {record['timings']['train_seconds']} s, "
              f"state {record['status']['state']}")
PY
