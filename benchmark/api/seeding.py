"""One seed per run; every random stream of the run derives from it."""

from __future__ import annotations

import random
from typing import Any

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


def global_rng_state() -> dict[str, Any]:
    """The global random streams (Python, NumPy, torch's CPU and CUDA generators) as plain
    values and tensors, which `torch.load(weights_only=True)` reads back."""
    version, mt_state, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": [version, list(mt_state), gauss],
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)),
                  "position": int(position), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }


def set_global_rng_state(state: dict[str, Any]) -> None:
    """Put back what `global_rng_state` took."""
    version, mt_state, gauss = state["python"]
    random.setstate((version, tuple(mt_state), gauss))
    numpy = state["numpy"]
    np.random.set_state((numpy["name"], numpy["keys"].numpy().astype(np.uint32),
                         numpy["position"], numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
