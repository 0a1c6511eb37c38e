"""Many records in one file: JSON Lines, gzip-compressed when the name ends in .gz.

The compact form in which records travel between machines and are committed beside the
reference leaderboards. Written deterministically (sorted keys, no timestamp in the gzip
header), so the same records always give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medbench.api.storage import atomic_write, parse_json, regular_file

SUFFIXES = (".jsonl", ".jsonl.gz")
MAX_LINES_BYTES = 512 * 2**20  # decompressed; far above any real corpus, below a zip bomb


def is_record_lines(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def write_record_lines(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write `records`, one JSON object per line; returns how many."""
    lines = [json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
             for record in records]
    data = "".join(lines).encode("utf-8")
    if path.name.endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
            handle.write(data)
        data = buffer.getvalue()
    with atomic_write(path) as out:
        out.write(data)
    return len(lines)


def read_record_lines(path: Path) -> list[Any]:
    """Each line's JSON value (validated by the caller); ValueError names the bad line."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(regular_file(path), "rb") as handle:
            raw = handle.read(MAX_LINES_BYTES + 1)
    except (OSError, EOFError) as exc:  # gzip's BadGzipFile is an OSError
        raise ValueError(f"cannot read {path}: {exc}") from None
    if len(raw) > MAX_LINES_BYTES:
        raise ValueError(f"{path} holds more than {MAX_LINES_BYTES // 2**20} MiB of records")
    values = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        values.append(parse_json(line, f"{path} line {number}"))
    return values
