"""Peak memory of training: what the record's training.peak_memory_bytes counts."""

from __future__ import annotations

import json
import subprocess
import sys

# In a fresh process: in the test session's own, freed memory that is still resident would
# serve the block without raising the peak.
PROBE = """
import json, torch
from medbench.run.memory import peak_memory
with peak_memory(torch.device("cpu")) as held:
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, written, so resident
    del block
with peak_memory(torch.device("cpu")) as idle:
    pass
print(json.dumps([held.bytes, idle.bytes, held.kind, idle.kind]))
"""


def test_the_peak_counts_what_the_block_held_and_starts_afresh_each_time() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    held, idle, held_kind, idle_kind = json.loads(done.stdout.splitlines()[-1])
    if idle_kind.endswith("during training"):  # the kernel let the peak be reset
        assert held - idle > 48 * 2**20
    else:
        assert held_kind.endswith("since it started") and held > 64 * 2**20
