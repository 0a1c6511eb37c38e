"""Readers' scores as metrics of the runs studied.

Each studied run gets a derived record: a copy of its own record (configuration, method,
data, environment; so it joins the same leaderboard row and seed) whose metrics are the
reader metrics only, with `source_run` naming the run. Leaderboards take each metric from
the newest record of a configuration and seed that has it, so a reader column appears next
to the run's own metrics. Scoring the same answers again replaces the same record.
"""

from __future__ import annotations

import copy
from importlib.metadata import version
from typing import Any

from medbench.study.answers import ReaderAnswers
from medbench.study.statistics import INTERVAL, Scores

READER_METRICS = {
    # name: (units, range, summary)
    "reader_auc": ("ROC AUC from calls and confidence (0.5: indistinguishable from real)",
                   (0.0, 1.0), "readers' mean ROC AUC for telling this run's images from "
                               "real ones"),
    "reader_accuracy": ("fraction of images called right", (0.0, 1.0),
                        "readers' mean accuracy on this run's and the real images"),
    "reader_sensitivity": ("fraction of synthetic images called synthetic", (0.0, 1.0),
                           "readers' mean sensitivity for this run's synthetic images"),
}
METRIC_VERSION = "1"


def _metric(name: str, value: float, interval: list[float] | None, n: dict[str, int],
            details: dict[str, Any]) -> dict[str, Any]:
    units, bounds, summary = READER_METRICS[name]
    return {
        "value": value, "higher_is_better": False, "units": units, "range": list(bounds),
        "implementation": "medbench reader study; AUC by sklearn.metrics.roc_auc_score, "
                          "intervals by scipy.stats.bootstrap",
        "implementation_version": version("scikit-learn"), "metric_version": METRIC_VERSION,
        "options": {}, "n_samples": n, "status": "ok", "comparable": True, "caveat": None,
        "reason": None,
        "details": {"summary": summary, "ci95": interval, "ci95_method": INTERVAL, **details},
    }


def derived_record(original: dict[str, Any], key: dict[str, Any], scores: Scores,
                   answers: list[ReaderAnswers], study_details: dict[str, Any],
                   seed: int) -> dict[str, Any]:
    """The run's record with the readers' metrics in place of its own."""
    record = copy.deepcopy(original)
    finished = sorted(str(a.finished_at) for a in answers if a.finished_at) or \
        [key["created_at"]]
    record["run_id"] = f"{original['run_id']}+readers-{key['study'][:8]}"
    record["created_at"] = max(finished[-1], str(original["created_at"]))
    record["source_run"] = original["run_id"]
    # What the run was (config, data, training, timings, environment) stays as recorded: the
    # copy joins the run's leaderboard row and seed, and the row's compute columns must not
    # change. Its files and images stay with the run's own record.
    record["artifacts"], record["images"] = {}, {}
    record["status"] = {"state": "ok", "reason": None, "step": None}
    n = {"readers": len(answers), "real": int((scores.truths == 0).sum()),
         "synthetic": int((scores.truths == 1).sum())}
    per_reader = {a.reader: scores.per_reader(index, seed) for index, a in enumerate(answers)}
    auc, auc_interval = scores.mean_auc(seed)
    accuracy, accuracy_interval = scores.mean_rate("accuracy", seed)
    sensitivity, sensitivity_interval = scores.mean_rate("sensitivity", seed)
    common = {"study": key["study"], "per_reader": per_reader, **study_details}
    record["metrics"] = {
        "reader_auc": _metric("reader_auc", auc, auc_interval, n, common),
        "reader_accuracy": _metric("reader_accuracy", accuracy, accuracy_interval, n, common),
        "reader_sensitivity": _metric("reader_sensitivity", sensitivity,
                                      sensitivity_interval, n, common),
    }
    return record
