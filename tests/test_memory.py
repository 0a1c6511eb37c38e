"""Peak memory of training: what the record's training.peak_memory_bytes counts."""

from __future__ import annotations

import torch

from medbench.run.memory import peak_memory


def test_the_peak_counts_what_the_block_held_and_starts_afresh_each_time() -> None:
    with peak_memory(torch.device("cpu")) as held:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, written, so resident
        del block
    with peak_memory(torch.device("cpu")) as idle:
        pass
    assert held.bytes is not None and idle.bytes is not None
    if idle.kind.endswith("during training"):  # the kernel let the peak be reset
        assert held.bytes - idle.bytes > 48 * 2**20
    else:
        assert held.kind.endswith("since it started") and held.bytes > 64 * 2**20
