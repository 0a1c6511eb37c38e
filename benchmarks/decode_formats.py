"""Time and memory to decode and cache each real-data format, on generated files in the
official layouts (tests/layouts.py).

    python benchmarks/decode_formats.py

Each format's files are written by one process and decoded by a fresh one, so the peak
memory is the decode's own. Printed per format: samples decoded, file and stored sizes,
cold seconds (find and hash the files, read, check, resize, hash the splits, write the
cache), warm seconds (read the decoded cache back, as every later run does), the decoding
process's peak resident memory, and the cold throughput in stored megabytes per second,
from which the full datasets' cost is estimated.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

KINDS = ("medmnist-28", "medmnist-64", "medmnist-224", "msd-liver", "drive",
         "synthrad-brain", "mayo-ldct-3mm")


def _dataset(kind: str, data: Path, write: bool):
    """The dataset of `kind`, its files written under `data` first when `write`."""
    import layouts

    from medbench.host.manager import load_host
    from medbench.run.datafiles import hash_file

    import support

    if kind.startswith("medmnist"):
        from medbench.datasets.medmnist.info import medmnist_info

        size = int(kind.rpartition("-")[2])
        counts = medmnist_info()[0]["pneumoniamnist"]["n_samples"]  # the real split sizes
        path = data / "medmnist" / f"pneumoniamnist{'' if size == 28 else f'_{size}'}.npz"
        if write:
            support.write_medmnist_npz(path, "pneumoniamnist", size, counts)
        return support.small_medmnist("pneumoniamnist", size, counts,
                                      "md5:" + hash_file(path, "md5"))
    writers = {
        "msd-liver": lambda: layouts.write_msd_liver(data, patients=6, size=512, slices=40),
        "drive": lambda: layouts.write_drive(data),
        "synthrad-brain": lambda: layouts.write_synthrad(data, "brain", patients=6,
                                                         shape=(256, 256, 40)),
        "mayo-ldct-3mm": lambda: layouts.write_mayo_ldct(data, patients=4, slices=20),
    }
    if write:
        writers[kind]()
    return load_host(False).registries.datasets.get(kind)


def _write(kind: str, data: Path) -> None:
    _dataset(kind, data, write=True)


def _measure(kind: str, root: Path, queue: multiprocessing.Queue) -> None:
    from medbench.run.data import build_arrays, check_fields, verify_against_manifest
    from medbench.run.datafiles import ChecksumCache, locate

    data = root / "data"
    dataset = _dataset(kind, data, write=False)
    source = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 2**20
    tick = time.perf_counter()
    files = locate(dataset, [data], ChecksumCache(root / "sums.json"))
    arrays = build_arrays(dataset, root / "cache", files)
    check_fields(dataset, arrays)
    verify_against_manifest(dataset, arrays)
    cold = time.perf_counter() - tick
    del arrays
    tick = time.perf_counter()
    again = build_arrays(dataset, root / "cache", files)
    warm = time.perf_counter() - tick
    samples = sum(len(split) for split in again.values())
    stored = sum(a.nbytes for split in again.values() for a in split.arrays.values()) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((kind, samples, source, stored, cold, warm, peak))


def main() -> None:
    context = multiprocessing.get_context("spawn")
    print(f"{'format':16} {'samples':>8} {'files MB':>9} {'stored MB':>10} {'cold s':>7} "
          f"{'warm s':>7} {'peak MB':>8} {'cold MB/s':>10}")
    for kind in KINDS:
        root = Path(tempfile.mkdtemp(prefix=f"decode-{kind}-"))
        writer = context.Process(target=_write, args=(kind, root / "data"))
        writer.start()
        writer.join()
        queue = context.Queue()
        process = context.Process(target=_measure, args=(kind, root, queue))
        process.start()
        kind, samples, source, stored, cold, warm, peak = queue.get()
        process.join()
        print(f"{kind:16} {samples:8d} {source:9.1f} {stored:10.1f} {cold:7.2f} {warm:7.2f} "
              f"{peak:8.0f} {stored / cold:10.1f}")


if __name__ == "__main__":
    main()
