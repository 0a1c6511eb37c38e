"""The statistics behind a leaderboard: seeds aggregated, the best tested, metrics compared.

All three come from scipy: the percentile bootstrap (`scipy.stats.bootstrap`), the paired
t-test (`scipy.stats.ttest_rel`) and Kendall's tau (`scipy.stats.kendalltau`). Every random
choice is seeded, so the same records always give the same table.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from medbench.api.leaderboard import Aggregate, Comparison

CONFIDENCE = 0.95
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # fixed: committed leaderboards must regenerate exactly
MIN_AGREEMENT_METHODS = 3  # Kendall's tau over fewer ranked methods says nothing


def aggregate(per_seed: dict[int, float]) -> Aggregate:
    """Mean, sample standard deviation and a 95 % percentile-bootstrap interval of the mean.

    With one seed there is no spread and no interval (nan). With three seeds the interval
    is close to the range of the seeds: resamples made of one seed repeated carry 1/27 of
    the bootstrap distribution each, more than either 2.5 % tail.
    """
    values = np.array([per_seed[seed] for seed in sorted(per_seed)], dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return Aggregate(mean, math.nan, math.nan, math.nan, dict(per_seed))
    low, high = bootstrap_interval(values)
    return Aggregate(mean, float(values.std(ddof=1)), low, high, dict(per_seed))


def bootstrap_interval(values: np.ndarray) -> tuple[float, float]:
    if np.all(values == values[0]):  # scipy warns on a degenerate distribution
        return float(values[0]), float(values[0])
    result = stats.bootstrap((values,), np.mean, confidence_level=CONFIDENCE,
                             n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                             rng=np.random.default_rng(BOOTSTRAP_SEED))
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def versus_best(best: dict[int, float], other: dict[int, float],
                alpha: float = ALPHA) -> Comparison:
    """A two-sided paired t-test over the seeds both have, at `alpha`, uncorrected.

    Paired by seed because a seed fixes the data order and initial weights of both runs.
    Fewer than two shared seeds: not tested. Identical differences on every seed (no
    spread): significant unless they are all zero.
    """
    seeds = sorted(set(best) & set(other))
    if len(seeds) < 2:
        return Comparison(len(seeds), None, None)
    a = np.array([best[seed] for seed in seeds])
    b = np.array([other[seed] for seed in seeds])
    differences = a - b
    if np.all(differences == differences[0]):
        p_value = 1.0 if differences[0] == 0 else 0.0
    else:
        p_value = float(stats.ttest_rel(a, b).pvalue)
    return Comparison(len(seeds), p_value, p_value < alpha)


def kendall_tau(first: Sequence[float], second: Sequence[float]) -> float | None:
    """Kendall's tau-b between two score lists (same methods, same order), or None when it
    is undefined (too few methods, or one list constant)."""
    if len(first) < MIN_AGREEMENT_METHODS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant input warns and returns nan
        tau = stats.kendalltau(first, second).statistic
    return None if tau is None or math.isnan(tau) else float(tau)
