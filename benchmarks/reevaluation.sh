#!/usr/bin/env bash
# Evaluation with the real split's features cached: `medbench evaluate` of one finished
# synthesis run, first with an empty reference-feature cache (the test and train splits'
# features are computed and stored), then again (only the generated images' features are
# computed). Prints both wall times and their ratio.
#
#     bash benchmarks/reevaluation.sh [WORK_DIR] [METRICS]
#
# METRICS defaults to the random-CNN distances, which run offline. Where the Inception
# weights are present, pass e.g. fid,kid_inception,precision_inception: the cached share is
# then larger, since InceptionV3 costs far more per image. The run is the Gaussian baseline
# (no training to wait for); its phantom cache is reused from $MEDBENCH_CACHE, or built.
set -euo pipefail
work=${1:-$(mktemp -d)}
metrics=${2:-fd_randcnn,kid_randcnn,precision_randcnn,recall_randcnn}
source_cache=${MEDBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/medbench}
mkdir -p "$work/cache"
# The datasets are shared with the usual cache; the reference features are this script's.
[[ -e "$work/cache/datasets" ]] || ln -s "$source_cache/datasets" "$work/cache/datasets"
export MEDBENCH_CACHE=$work/cache MEDBENCH_RESULTS_DB=$work/results.sqlite

medbench run --method gaussian --task synthesis --metrics "$metrics" --offline \
    --out "$work/runs" > "$work/run.log" 2>&1
run=$(ls -d "$work"/runs/*/ | head -1)

measure() {  # prints the wall seconds of one `medbench evaluate` of the run
    local start=$EPOCHREALTIME
    medbench evaluate "$run" --metrics "$metrics" --offline --out "$work/evaluated" > "$work/evaluate.log" 2>&1
    python3 -c "print(round($EPOCHREALTIME - $start, 2))"
}

rm -rf "$work/cache/reference-features"
cold=$(measure)
warm=$(measure)
python3 - "$cold" "$warm" "$metrics" "$work/evaluated" <<'PY'
import json, pathlib, sys
cold, warm, metrics = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
# The evaluation phase alone (features and metrics), from the two records, oldest first.
phase = [json.loads(path.read_text())["timings"]["evaluate_seconds"]
         for path in sorted(pathlib.Path(sys.argv[4]).glob("*/record.json"))[-2:]]
print(f"medbench evaluate ({metrics}):")
print(f"  {'':24s} {'wall':>8s} {'evaluation phase':>17s}")
print(f"  real features computed: {cold:6.2f} s {phase[0]:15.2f} s")
print(f"  real features cached:   {warm:6.2f} s {phase[1]:15.2f} s")
print(f"  ratio first / second:   {cold / warm:6.2f}   {phase[0] / phase[1]:15.2f}")
PY
echo "work folder: $work"
