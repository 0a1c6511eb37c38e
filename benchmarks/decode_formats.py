"""Time and memory to decode and cache each real-data format, on generated files in the
official layouts (tests/layouts.py), one fresh process per format so peak memory is its own.

    python benchmarks/decode_formats.py

Prints, per format: what was decoded, cold seconds (read, check, resize, hash, write the
cache), warm seconds (read the decoded cache back, as every later run does), the peak
resident memory of the process, and the cold throughput in stored-pixel megabytes per
second, from which the full datasets' cost is estimated in the README of the results.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _measure(kind: str, queue: multiprocessing.Queue) -> None:
    import layouts
    import numpy as np

    from medbench.host.manager import load_host
    from medbench.run.data import build_arrays, check_fields, verify_against_manifest
    from medbench.run.datafiles import ChecksumCache, locate

    import support

    root = Path(tempfile.mkdtemp(prefix=f"decode-{kind}-"))
    data = root / "data"
    registries = load_host(False).registries
    if kind.startswith("medmnist"):
        size = int(kind.rpartition("-")[2])
        from medbench.datasets.medmnist.info import medmnist_info

        counts = medmnist_info()[0]["pneumoniamnist"]["n_samples"]  # the real split sizes
        suffix = "" if size == 28 else f"_{size}"
        md5 = support.write_medmnist_npz(data / "medmnist" / f"pneumoniamnist{suffix}.npz",
                                         "pneumoniamnist", size, counts)
        dataset = support.small_medmnist("pneumoniamnist", size, counts, md5)
    elif kind == "msd-liver":
        layouts.write_msd_liver(data, patients=6, size=512, slices=40)
        dataset = registries.datasets.get("msd-liver")
    elif kind == "drive":
        layouts.write_drive(data)
        dataset = registries.datasets.get("drive")
    elif kind == "synthrad-brain":
        layouts.write_synthrad(data, "brain", patients=6, shape=(256, 256, 40))
        dataset = registries.datasets.get("synthrad-brain")
    else:
        layouts.write_mayo_ldct(data, patients=4, slices=20)
        dataset = registries.datasets.get("mayo-ldct-3mm")
    source_bytes = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    tick = time.perf_counter()
    files = locate(dataset, [data], ChecksumCache(root / "sums.json"))
    arrays = build_arrays(dataset, root / "cache", files)
    check_fields(dataset, arrays)
    verify_against_manifest(dataset, arrays)
    cold = time.perf_counter() - tick
    tick = time.perf_counter()
    again = build_arrays(dataset, root / "cache", files)
    warm = time.perf_counter() - tick
    samples = sum(len(split) for split in again.values())
    stored = sum(array.nbytes for split in again.values() for array in split.arrays.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del np
    queue.put((kind, samples, source_bytes / 2**20, stored / 2**20, cold, warm, peak))


def main() -> None:
    kinds = ["medmnist-28", "medmnist-64", "medmnist-224", "msd-liver", "drive",
             "synthrad-brain", "mayo-ldct-3mm"]
    context = multiprocessing.get_context("spawn")
    print(f"{'format':16} {'samples':>8} {'files MB':>9} {'stored MB':>10} {'cold s':>7} "
          f"{'warm s':>7} {'peak MB':>8} {'cold MB/s':>10}")
    for kind in kinds:
        queue = context.Queue()
        process = context.Process(target=_measure, args=(kind, queue))
        process.start()
        kind, samples, source, stored, cold, warm, peak = queue.get()
        process.join()
        print(f"{kind:16} {samples:8d} {source:9.1f} {stored:10.1f} {cold:7.2f} {warm:7.2f} "
              f"{peak:8.0f} {stored / cold:10.1f}")


if __name__ == "__main__":
    main()
