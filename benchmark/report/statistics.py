"""The statistics behind a leaderboard: seeds aggregated, the best tested, metrics compared.

- The interval of a mean over seeds is Student's t-interval (`scipy.stats.t`): with three
  seeds its coverage is the nominal 95 % when seed-to-seed values are roughly normal. (A
  percentile bootstrap over three values is their range, which covers the mean ~75 % of
  the time.)
- Each ranked method is tested against the best with a paired t-test (`scipy.stats.
  ttest_rel`), and the p-values of one table are Holm-corrected together.
- Metrics are compared by Kendall's tau-b (`scipy.stats.kendalltau`) between their rankings,
  where enough methods are ranked and ties do not dominate.
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
INTERVAL_KIND = "95 % t-interval of the mean over seeds (Student's t, n − 1 df)"
# Kendall's tau over 3 methods takes only 4 values (±1, ±1/3); from 4 on it says something.
MIN_AGREEMENT_METHODS = 4
# Above this share of method pairs tied under either metric, tau mostly counts ties (e.g. a
# metric that is 0 for all but one method).
MAX_TIED_SHARE = 0.5


def aggregate(per_seed: dict[int, float]) -> Aggregate:
    """Mean, sample standard deviation and the 95 % t-interval of the mean over seeds.

    With one seed there is no spread and no interval (nan).
    """
    values = np.array([per_seed[seed] for seed in sorted(per_seed)], dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return Aggregate(mean, math.nan, math.nan, math.nan, dict(per_seed))
    sd = float(values.std(ddof=1))
    low, high = t_interval(mean, sd, len(values))
    return Aggregate(mean, sd, low, high, dict(per_seed))


def t_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    if sd == 0.0:  # seeds that agree exactly: scipy would return nan
        return mean, mean
    low, high = stats.t.interval(CONFIDENCE, df=n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(low), float(high)


def versus_best(best: dict[int, float], other: dict[int, float]) -> Comparison:
    """A two-sided paired t-test over the seeds both have; `holm` then corrects it.

    Paired by seed because a seed fixes the data order and initial weights of both runs.
    Fewer than two shared seeds: not tested. Identical differences on every seed (no
    spread): p = 0 unless they are all zero (p = 1).
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
    return Comparison(len(seeds), p_value, None)


def holm(comparisons: Sequence[Comparison], alpha: float = ALPHA) -> list[Comparison]:
    """Holm's step-down correction over a table's comparisons with the best; untested ones
    (p None) are left as they are and do not count towards the number of tests.

    Written out because no package on the design card has it (statsmodels'
    `multipletests(method="holm")` computes the same adjusted p-values).
    """
    tested = sorted((c.p_value, index) for index, c in enumerate(comparisons)
                    if c.p_value is not None)
    m = len(tested)
    adjusted: dict[int, float] = {}
    running = 0.0
    for rank, (p_value, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p_value))
        adjusted[index] = running
    out = []
    for index, comparison in enumerate(comparisons):
        if index not in adjusted:
            out.append(comparison)
            continue
        out.append(Comparison(comparison.shared_seeds, comparison.p_value,
                              adjusted[index] < alpha, adjusted[index]))
    return out


def kendall_tau(first: Sequence[float], second: Sequence[float],
                ) -> tuple[float | None, str | None]:
    """Kendall's tau-b between two score lists (same methods, same order), or None with the
    reason it would not mean anything."""
    n = len(first)
    if n < MIN_AGREEMENT_METHODS:
        return None, f"{n} ranked method(s) have both; τ needs {MIN_AGREEMENT_METHODS}"
    pairs = n * (n - 1) // 2
    for values in (first, second):
        tied = sum(1 for i in range(n) for j in range(i + 1, n) if values[i] == values[j])
        if tied > MAX_TIED_SHARE * pairs:
            return None, f"dominated by ties ({tied} of {pairs} method pairs tie)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant input warns and returns nan
        tau = stats.kendalltau(first, second).statistic
    if tau is None or math.isnan(tau):
        return None, "undefined (a constant metric)"
    return float(tau), None
