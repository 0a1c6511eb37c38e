"""The GPU check's table: each run's training throughput and peak memory on the GPU, beside
the CPU reference record of the same method, task and seed.

    python benchmarks/gpu_table.py GPU_RESULTS.sqlite leaderboards/records.jsonl.gz

Throughput is images seen over `timings.train_seconds` (training only, not evaluation).
Peak memory is `training.peak_memory_bytes` (schema 2.6; CUDA: torch's allocator peak);
the CPU reference records of schema 2.5 have none.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from medbench.store import ResultStore
from medbench.store.record_files import read_record_lines


def throughput(record: dict[str, Any]) -> float | None:
    seconds = (record.get("timings") or {}).get("train_seconds")
    seen = (record.get("training") or {}).get("images_seen")
    return seen / seconds if seconds and seen else None


def by_run(records: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["method"]["name"], r["task"]["name"], int(r["config"]["seed"])): r
            for r in records}


def cell(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def main(gpu_db: Path, cpu_records: Path) -> None:
    with ResultStore(gpu_db) as store:
        gpu = by_run(store.records())
    cpu = by_run(read_record_lines(cpu_records))
    header = ("method", "task", "seed", "state", "GPU img/s", "CPU img/s", "ratio", "GPU peak MiB",
              "device")
    rows = []
    for key in sorted(gpu):
        record, reference = gpu[key], cpu.get(key)
        fast, slow = throughput(record), throughput(reference) if reference else None
        peak = (record.get("training") or {}).get("peak_memory_bytes")
        rows.append((key[0], key[1], key[2], record["status"]["state"], cell(fast), cell(slow),
                     cell(fast / slow, 1) + "x" if fast and slow else "-",
                     cell(peak / 2**20 if peak else None),
                     record["environment"].get("device_name", "")))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths,
                                                                         strict=True)))
    cpu_kind = {r["environment"].get("cpu_capability") for r in cpu.values()}
    print(f"\nCPU reference: the committed records ({', '.join(sorted(map(str, cpu_kind)))}, "
          f"{next(iter(cpu.values()))['environment'].get('cpu_threads')} threads).")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    main(Path(sys.argv[1]), Path(sys.argv[2]))
