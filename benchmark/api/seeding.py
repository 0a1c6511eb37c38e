"""One seed per run; every random stream of the run derives from it."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every CUDA device included) from the run's seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derived_generator(seed: int, stream: str) -> torch.Generator:
    """An independent CPU generator for one purpose (batch order, sampling, subsetting).

    Separate named streams keep one use of randomness from shifting another: asking for
    more samples never changes the batch order.
    """
    entropy = np.random.SeedSequence([seed, *stream.encode()]).generate_state(2, np.uint64)
    generator = torch.Generator()
    generator.manual_seed(int(entropy[0]) & (2**63 - 1))
    return generator
