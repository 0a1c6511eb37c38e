"""What readers' answers say: per reader, per run studied, and between readers.

- Accuracy, sensitivity (synthetic images called synthetic) and specificity (real called
  real) with Wilson score intervals (scipy's `binomtest(...).proportion_ci`).
- ROC AUC from the answers and their confidence, on a 10-point scale from "real, certain"
  (-5) to "synthetic, certain" (+5), by scikit-learn's `roc_auc_score`. 0.5: the readers
  could not tell synthetic from real; 1: they always could. The interval is a percentile
  bootstrap over images (scipy's `bootstrap`), real and synthetic images resampled apart,
  readers held fixed: it speaks for these readers, not for readers in general.
- Fleiss' κ over the real/synthetic calls of all readers (two or more), hand-written below
  (no maintained library on medbench's dependency list computes it; tested against
  statsmodels), with the same bootstrap over images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import roc_auc_score

from medbench.study.answers import ReaderAnswers

RESAMPLES = 2000
INTERVAL = "95% percentile bootstrap over images (real and synthetic resampled apart), " \
           "readers fixed"
PROPORTION_INTERVAL = "95% Wilson score interval"


def suspicion(call: str, confidence: int) -> int:
    """-5 (real, certain) ... -1, 1 ... 5 (synthetic, certain)."""
    return confidence if call == "synthetic" else -confidence


def wilson(successes: int, trials: int) -> list[float]:
    low, high = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    return [round(float(low), 6), round(float(high), 6)]


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' κ of an (images, categories) table of how many readers chose each category
    for each image; every image rated by the same number of readers."""
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)[0]
    per_image = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    observed = per_image.mean()
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    if expected == 1.0:
        return float("nan")  # every call the same: agreement beyond chance is undefined
    return float((observed - expected) / (1.0 - expected))


def _interval(statistic, samples: tuple[np.ndarray, ...], seed: int) -> list[float] | None:
    if min(len(sample) for sample in samples) < 2:
        return None  # no interval from a single image
    result = bootstrap(samples, statistic, n_resamples=RESAMPLES, paired=False,
                       vectorized=False, method="percentile",
                       rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):
        return None
    return [round(float(low), 6), round(float(high), 6)]


@dataclass(frozen=True)
class Scores:
    """Readers' calls on one set of images: synthetic ones (of one run, or all) and the
    real ones."""

    truths: np.ndarray  # (images,) 1 synthetic, 0 real
    calls: np.ndarray  # (readers, images) 1 called synthetic
    suspicion: np.ndarray  # (readers, images) -5..5

    @property
    def sides(self) -> tuple[np.ndarray, np.ndarray]:
        """(indices of the synthetic images, indices of the real ones): what the bootstrap
        resamples apart."""
        return np.flatnonzero(self.truths == 1), np.flatnonzero(self.truths == 0)

    def per_reader(self, reader: int, seed: int) -> dict[str, Any]:
        truth, call = self.truths, self.calls[reader]
        alone = Scores(truth, self.calls[reader : reader + 1],
                       self.suspicion[reader : reader + 1])
        synthetic, real = truth == 1, truth == 0
        correct = int((call == truth).sum())
        flagged = int(call[synthetic].sum())
        cleared = int((1 - call[real]).sum())
        return {
            "accuracy": correct / len(truth), "accuracy_ci95": wilson(correct, len(truth)),
            "sensitivity": flagged / int(synthetic.sum()),
            "sensitivity_ci95": wilson(flagged, int(synthetic.sum())),
            "specificity": cleared / int(real.sum()),
            "specificity_ci95": wilson(cleared, int(real.sum())),
            "auc": float(roc_auc_score(truth, self.suspicion[reader])),
            "auc_ci95": alone.mean_auc(seed)[1],
            "images": len(truth),
        }

    def mean_auc(self, seed: int) -> tuple[float, list[float] | None]:
        """Readers' mean AUC, and its bootstrap interval over images."""

        def statistic(fake_idx: np.ndarray, real_idx: np.ndarray) -> float:
            fake = self.suspicion[:, fake_idx.astype(int)][:, :, None]
            true = self.suspicion[:, real_idx.astype(int)][:, None, :]
            # The Mann-Whitney form of the AUC: P(synthetic scored above real), ties 1/2.
            return float(((fake > true) + 0.5 * (fake == true)).mean(axis=(1, 2)).mean())

        return statistic(*self.sides), _interval(statistic, self.sides, seed)

    def mean_rate(self, which: str, seed: int) -> tuple[float, list[float] | None]:
        """Readers' mean accuracy or sensitivity, with the same bootstrap over images."""

        def statistic(fake_idx: np.ndarray, real_idx: np.ndarray) -> float:
            fake_calls = self.calls[:, fake_idx.astype(int)]
            if which == "sensitivity":
                return float(fake_calls.mean())
            real_calls = self.calls[:, real_idx.astype(int)]
            correct = fake_calls.sum() + (1 - real_calls).sum()
            return float(correct / (fake_calls.size + real_calls.size))

        return statistic(*self.sides), _interval(statistic, self.sides, seed)

    def kappa(self, seed: int) -> tuple[float | None, list[float] | None, str | None]:
        """Fleiss' κ of the calls, its interval, or None with the reason."""
        readers = self.calls.shape[0]
        if readers < 2:
            return None, None, "one reader: agreement needs two or more"
        images = np.arange(self.calls.shape[1])

        def statistic(index: np.ndarray) -> float:
            calls = self.calls[:, index.astype(int)]
            synthetic = calls.sum(axis=0)
            return fleiss_kappa(np.stack([readers - synthetic, synthetic], axis=1))

        value = statistic(images)
        if not np.isfinite(value):
            return None, None, "every reader made the same call on every image"
        return value, _interval(statistic, (images,), seed), None


def score_table(answers: list[ReaderAnswers], key: dict[str, Any],
                run: str | None) -> Scores:
    """Calls on the real images and the synthetic ones of `run` (None: of every run)."""
    images = [image for image in key["images"]
              if image["truth"] == "real" or run is None or image["run"] == run]
    truths = np.array([1 if image["truth"] == "synthetic" else 0 for image in images])
    calls = np.array([[1 if reader.calls[image["id"]][0] == "synthetic" else 0
                       for image in images] for reader in answers])
    scores = np.array([[suspicion(*reader.calls[image["id"]]) for image in images]
                       for reader in answers])
    return Scores(truths, calls, scores)
