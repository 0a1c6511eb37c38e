"""How fast the results database takes records: P processes each storing N synthetic
records (one connection per record, as runs do) into one fresh database.

    python benchmarks/store_throughput.py [PROCESSES] [RECORDS_PER_PROCESS]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medbench.store import ResultStore

WRITER = """
import json, sys
from medbench.store import ResultStore
record, db, worker, count = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(count):
    record["run_id"] = f"w{worker}-r{i}"
    with ResultStore(db) as store:
        store.put(record)
"""


def main(processes: int, per_process: int) -> None:
    # A record the size of a real one: 30 metrics with details.
    metric = {"value": 0.5, "status": "ok", "higher_is_better": True,
              "details": {"per_class": {f"class{i}": 0.5 for i in range(20)}}}
    record = {"schema_version": "2.3", "created_at": "2026-11-29T00:00:00+00:00",
              "config": {"budget": "smoke", "seed": 0}, "method": {"name": "m"},
              "task": {"name": "t"}, "dataset": {"name": "d"}, "status": {"state": "ok"},
              "metrics": {f"metric{i}": metric for i in range(30)}}
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "results.sqlite"
        ResultStore(db).close()
        tick = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, "-c", WRITER, json.dumps(record), str(db),
                                     str(worker), str(per_process)])
                   for worker in range(processes)]
        if any(worker.wait() for worker in workers):
            raise SystemExit("a writer failed")
        seconds = time.perf_counter() - tick
        with ResultStore(db) as store:
            stored = len(store.runs())
    total = processes * per_process
    print(f"{processes} processes x {per_process} records: {stored}/{total} stored in "
          f"{seconds:.1f} s ({total / seconds:.0f} records/s, including interpreter start-up)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4,
         int(sys.argv[2]) if len(sys.argv) > 2 else 250)
