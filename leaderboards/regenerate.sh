#!/usr/bin/env bash
# The reference leaderboards, regenerated: the sweep in reference.toml (every built-in
# method on every task it supports, smoke budget, seeds 0-2) into a fresh results database,
# its records exported to records.jsonl.gz, and the tables written from those records.
#
#     bash leaderboards/regenerate.sh            # about 45 minutes on a 2-core CPU
#     bash leaderboards/regenerate.sh --tables   # only the tables, from the committed records
#
# MEDBENCH_REFERENCE_WORK=DIR keeps the database, run folders and HTML report there
# (default: a temporary folder, reported at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
here=leaderboards
status=0

if [[ "${1:-}" != "--tables" ]]; then
    work=${MEDBENCH_REFERENCE_WORK:-$(mktemp -d)}
    mkdir -p "$work"
    start=$(date +%s)
    # A failed run is a row of the table (counted as failed), not a reason to stop.
    medbench sweep --file "$here/reference.toml" --db "$work/results.sqlite" \
        --out "$work/runs" || status=$?
    echo "reference sweep: $(( $(date +%s) - start )) s"
    medbench results export --db "$work/results.sqlite" --budget smoke \
        --out "$here/records.jsonl.gz" --overwrite
fi

release=$(cat "$here/VERSION")
rm -rf "$here/smoke"
medbench leaderboard --records "$here/records.jsonl.gz" --format markdown,csv,latex \
    --release "$release" --out "$here/smoke"
if [[ -n "${work:-}" ]]; then
    medbench report --records "$here/records.jsonl.gz" --runs "$work/runs" \
        --release "$release" --out "$work/report"
    echo "run folders, database and report kept in $work"
fi
exit "$status"
