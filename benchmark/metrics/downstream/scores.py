"""Classification scores of one classifier arm on the real test split, and bootstrap
intervals of the difference between two arms over the same test images."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score
from torchmetrics.functional.classification import (
    multiclass_auroc,
    multiclass_recall,
    multiclass_specificity,
)

BALANCED_ACCURACY_RESAMPLES = 2000
AUROC_RESAMPLES = 200  # each resample runs scikit-learn's AUROC; kept cheap on a CPU


def classification_scores(probs: torch.Tensor, target: torch.Tensor,
                          class_names: tuple[str, ...]) -> dict[str, Any]:
    """Macro AUROC, balanced accuracy (mean per-class sensitivity), and per-class
    sensitivity and specificity, through torchmetrics."""
    classes = len(class_names)
    sensitivity = multiclass_recall(probs, target, classes, average="none")
    specificity = multiclass_specificity(probs, target, classes, average="none")
    return {
        "macro_auroc": round(float(multiclass_auroc(probs, target, classes, average="macro")), 6),
        "balanced_accuracy": round(float(multiclass_recall(probs, target, classes,
                                                           average="macro")), 6),
        "sensitivity": {name: round(float(v), 6) for name, v in zip(class_names, sensitivity,
                                                                   strict=True)},
        "specificity": {name: round(float(v), 6) for name, v in zip(class_names, specificity,
                                                                   strict=True)},
    }


def _balanced_accuracy_rows(correct: np.ndarray, onehot: np.ndarray,
                            index: np.ndarray) -> np.ndarray:
    """Balanced accuracy of each row of resampled test indices (vectorised over rows)."""
    hits = np.einsum("rn,rnc->rc", correct[index], onehot[index])
    support = onehot[index].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = hits / support
    return np.nanmean(recall, axis=1)  # a class absent from a resample is left out


def _interval(statistic: Any, n: int, resamples: int, seed: int,
              vectorized: bool) -> list[float]:
    result = bootstrap((np.arange(n),), statistic, n_resamples=resamples, vectorized=vectorized,
                       method="percentile", confidence_level=0.95,
                       random_state=np.random.default_rng(seed))
    return [round(float(result.confidence_interval.low), 6),
            round(float(result.confidence_interval.high), 6)]


def balanced_accuracy_interval(probs: torch.Tensor, target: torch.Tensor, seed: int,
                               baseline: torch.Tensor | None = None) -> list[float]:
    """95% percentile-bootstrap interval over test images of the balanced accuracy of
    `probs`, or of its gain over `baseline` (paired: both scored on each resample)."""
    y = target.numpy()
    onehot = np.eye(probs.shape[1])[y]
    correct = (probs.argmax(dim=1).numpy() == y).astype(float)
    reference = None if baseline is None else (baseline.argmax(dim=1).numpy() == y).astype(float)

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        index = np.atleast_2d(index)
        value = _balanced_accuracy_rows(correct, onehot, index)
        if reference is not None:
            value = value - _balanced_accuracy_rows(reference, onehot, index)
        return value

    return _interval(statistic, len(y), BALANCED_ACCURACY_RESAMPLES, seed, vectorized=True)


def auroc_interval(probs: torch.Tensor, target: torch.Tensor, seed: int,
                   baseline: torch.Tensor | None = None) -> list[float]:
    """As balanced_accuracy_interval, for the macro one-vs-rest AUROC."""
    y, p = target.numpy(), probs.double().numpy()
    q = None if baseline is None else baseline.double().numpy()
    labels = np.arange(p.shape[1])

    def auroc(scores: np.ndarray, index: np.ndarray) -> float:
        if len(np.unique(y[index])) < len(labels):
            return float("nan")
        if len(labels) == 2:  # sklearn takes two classes in binary form; with p0 = 1 - p1
            # the macro one-vs-rest AUROC (the point estimate's) is this binary AUROC
            return roc_auc_score(y[index], scores[index, 1])
        return roc_auc_score(y[index], scores[index], multi_class="ovr", average="macro",
                             labels=labels)

    def statistic(index: np.ndarray) -> float:
        value = auroc(p, index)
        return value - auroc(q, index) if q is not None else value

    return _interval(statistic, len(y), AUROC_RESAMPLES, seed, vectorized=False)
