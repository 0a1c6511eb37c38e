#!/usr/bin/env bash
# Sweep scaling: the same 12-run smoke sweep (gaussian, holdout and train-copy on the
# phantom, seeds 0-3, fd_randcnn only) with --workers 1, --workers 2, and through a local
# Ray cluster (1 CPU per run), each into a fresh database, side by side on one machine.
# Prints each wall time and its ratio to --workers 1.
#
#     bash benchmarks/sweep_scaling.sh [WORK_DIR]
#
# Needs medbench[ray] for the third line. Build the phantom's cache first (any run on it)
# so that no sweep pays for it.
set -euo pipefail
work=${1:-$(mktemp -d)}
mkdir -p "$work"
common=(--methods gaussian,holdout,train-copy --tasks synthesis --seeds 0,1,2,3
        --metrics fd_randcnn --offline)

measure() {  # NAME ARGS...: prints NAME and the wall seconds of `medbench sweep ARGS`
    local name=$1
    shift
    rm -rf "$work/$name"
    local start=$EPOCHREALTIME
    medbench sweep "${common[@]}" --out "$work/$name/runs" --db "$work/$name/results.sqlite" \
        "$@" > "$work/$name.log" 2>&1
    echo "$name $(python3 -c "print($EPOCHREALTIME - $start)")"
}

{
    measure workers-1 --workers 1
    measure workers-2 --workers 2
    measure ray --executor ray --cpus-per-run 1
} | awk '{ if (NR == 1) base = $2;
           printf "%-10s %6.1f s  ratio to --workers 1: %.2f\n", $1, $2, $2 / base }'
echo "logs and run folders in $work"
