"""Downstream classifier gain: do a method's labelled synthetic images help a classifier?

The liver-lesion study's protocol (Frid-Adar et al. 2018), made reproducible. A fixed
classifier recipe (recipe.py) is trained three times and scored on the real test split:
- baseline: on the real train split alone (or a stratified `real_fraction` of it);
- augmented: on the same real images plus the method's labelled synthetic images;
- synthetic only (train on synthetic, test on real: TSTR).
The baseline depends only on the split, seed, fraction, recipe and device, never on the
method, so it is computed once and cached like the reference features.

Synthetic images need labels: a class-conditional method is asked for the train split's
class mix, and an unconditional one runs the per-class protocol (one model per class).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar

import torch

from medbench.api import (
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
    SynthesisInputs,
    derived_generator,
    hookimpl,
)
from medbench.metrics.downstream import recipe
from medbench.metrics.downstream.recipe import RECIPE_VERSION, train_and_predict
from medbench.metrics.downstream.scores import (
    auroc_interval,
    balanced_accuracy_interval,
    classification_scores,
)


@dataclass(frozen=True)
class DownstreamOptions:
    # Share of the real train split (stratified by class) that every arm learns from; 0.1
    # is the data-scarce arm, where the liver-lesion study saw synthetic data help.
    real_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.real_fraction <= 1.0:
            raise ValueError(f"real_fraction must lie in (0, 1], got {self.real_fraction}")


@dataclass(frozen=True)
class DownstreamResult:
    scores: dict[str, dict[str, Any]]  # arm -> classification scores
    balanced_accuracy_gain: float
    balanced_accuracy_gain_ci95: list[float]
    auroc_gain: float
    auroc_gain_ci95: list[float]
    tstr_balanced_accuracy_ci95: list[float]
    counts: dict[str, int]
    baseline_cached: bool


def stratified_subset(labels: torch.Tensor, fraction: float,
                      generator: torch.Generator) -> torch.Tensor:
    """Indices of `fraction` of each class (at least one image per class), seeded."""
    if fraction >= 1.0:
        return torch.arange(len(labels))
    chosen = []
    for value in labels.unique():
        members = (labels == value).nonzero().flatten()
        keep = max(1, round(fraction * len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:keep]])
    return torch.cat(chosen).sort().values


def evaluate_downstream(inputs: SynthesisInputs, options: DownstreamOptions,
                        ) -> DownstreamResult:
    if inputs.generated_labels is None:
        raise MetricUnavailable(
            "the generated images carry no class labels: this evaluation sampled an "
            "unconditional model (e.g. `medbench evaluate` of a checkpoint trained without a "
            "metric that needs labels); rerun training with this metric selected")
    context = inputs.context
    class_names = context.data.class_names
    seed, fraction = context.seed, options.real_fraction
    train_labels = inputs.train["label"]
    keep = stratified_subset(train_labels, fraction,
                             derived_generator(seed, f"downstream-fraction/{fraction}"))
    real_images, real_labels = inputs.train["image"][keep], train_labels[keep]
    fake_images, fake_labels = inputs.generated, inputs.generated_labels
    test_images, test_labels = inputs.real["image"], inputs.real["label"]
    classes = len(class_names)

    key = (f"{context.split_keys[inputs.train.name]}/{context.split_keys[inputs.real.name]}/"
           f"downstream-baseline-r{RECIPE_VERSION}-{recipe.STEPS}steps-f{fraction}-s{seed}-"
           f"{context.device.type}")
    computed_baseline = []
    with context.progress.bar("downstream classifiers", total=3 * recipe.STEPS) as bar:
        def baseline() -> torch.Tensor:
            computed_baseline.append(True)
            return train_and_predict(real_images, real_labels, test_images, classes, seed,
                                     f"real/{fraction}", context.device, bar)

        base = context.features.get_or_compute(key, baseline, rows=len(test_images))
        if not computed_baseline:
            bar.advance(recipe.STEPS)
        augmented = train_and_predict(torch.cat([real_images, fake_images]),
                                      torch.cat([real_labels, fake_labels]), test_images,
                                      classes, seed, f"augmented/{fraction}", context.device,
                                      bar)
        computed_synthetic = []

        def synthetic_arm() -> torch.Tensor:  # the same for every real fraction: once a run
            computed_synthetic.append(True)
            return train_and_predict(fake_images, fake_labels, test_images, classes, seed,
                                     "synthetic", context.device, bar)

        synthetic = inputs.shared("downstream/synthetic-arm", synthetic_arm)
        if not computed_synthetic:
            bar.advance(recipe.STEPS)
    scores = {arm: classification_scores(probs, test_labels, class_names)
              for arm, probs in (("real", base), ("real+synthetic", augmented),
                                 ("synthetic", synthetic))}
    interval_seed = int(torch.randint(2**31, (1,),
                                      generator=derived_generator(seed, "downstream-ci")))
    return DownstreamResult(
        scores=scores,
        balanced_accuracy_gain=scores["real+synthetic"]["balanced_accuracy"]
        - scores["real"]["balanced_accuracy"],
        balanced_accuracy_gain_ci95=balanced_accuracy_interval(augmented, test_labels,
                                                               interval_seed, baseline=base),
        auroc_gain=scores["real+synthetic"]["macro_auroc"] - scores["real"]["macro_auroc"],
        auroc_gain_ci95=auroc_interval(augmented, test_labels, interval_seed, baseline=base),
        tstr_balanced_accuracy_ci95=balanced_accuracy_interval(synthetic, test_labels,
                                                               interval_seed),
        counts={"real_train": len(real_images), "synthetic": len(fake_images),
                "test": len(test_images)},
        baseline_cached=not computed_baseline,
    )


class DownstreamMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = True
    Options: ClassVar[type] = DownstreamOptions
    cost = "expensive"  # trains two or three small CNNs: 17-27 s at smoke on a 2-core CPU
    needs: ClassVar[frozenset[str]] = frozenset({"labels"})
    # Asked for by name only: an unconditional method is trained per class for it (the
    # per-class protocol), which changes what every other metric of the run scores.
    default: ClassVar[bool] = False

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"medbench classifier recipe v{RECIPE_VERSION}; scores by torchmetrics, "
                f"intervals by scipy.stats.bootstrap", version("torchmetrics"))

    def compute(self, inputs: SynthesisInputs, options: DownstreamOptions) -> Score:
        result = inputs.shared(f"downstream/{options.real_fraction}",
                               lambda: evaluate_downstream(inputs, options))
        value, interval = self.value(result)
        details = {"ci95": interval, "ci95_method": "paired percentile bootstrap over test "
                   "images" if "gain" in self.name else "percentile bootstrap over test images",
                   "real_fraction": options.real_fraction, "recipe_version": RECIPE_VERSION,
                   "baseline_from_cache": result.baseline_cached, "arms": result.scores}
        return Score(value, dict(result.counts), details)

    @abstractmethod
    def value(self, result: DownstreamResult) -> tuple[float, list[float]]:
        """(the metric's value, its 95% interval) from the shared evaluation."""


class BalancedAccuracyGain(DownstreamMetric):
    name = "downstream_gain"
    summary = ("Balanced-accuracy gain of a fixed CNN classifier trained on real + synthetic "
               "images over real alone, on the real test split")
    units: ClassVar[str] = "balanced accuracy difference"
    range: ClassVar[tuple[float | None, float | None]] = (-1.0, 1.0)

    def value(self, result: DownstreamResult) -> tuple[float, list[float]]:
        return result.balanced_accuracy_gain, result.balanced_accuracy_gain_ci95


class AurocGain(DownstreamMetric):
    name = "downstream_auroc_gain"
    summary = "Macro-AUROC gain of the same classifiers (real + synthetic over real alone)"
    units: ClassVar[str] = "macro AUROC difference"
    range: ClassVar[tuple[float | None, float | None]] = (-1.0, 1.0)

    def value(self, result: DownstreamResult) -> tuple[float, list[float]]:
        return result.auroc_gain, result.auroc_gain_ci95


class TrainSyntheticTestReal(DownstreamMetric):
    name = "tstr_balanced_accuracy"
    summary = ("Balanced accuracy on the real test split of the classifier trained on "
               "synthetic images alone (train on synthetic, test on real)")
    units: ClassVar[str] = "balanced accuracy"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)

    def value(self, result: DownstreamResult) -> tuple[float, list[float]]:
        return (result.scores["synthetic"]["balanced_accuracy"],
                result.tstr_balanced_accuracy_ci95)


@dataclass(frozen=True)
class ScarceOptions(DownstreamOptions):
    real_fraction: float = 0.1  # the liver-lesion study's data-scarce setting


class ScarceBalancedAccuracyGain(BalancedAccuracyGain):
    """The gain in the data-scarce arm: its own name, so that a run (and a leaderboard)
    has both arms side by side."""

    name = "scarce_downstream_gain"
    summary = ("downstream_gain when the classifiers see 10 % of the real train split (the "
               "data-scarce arm)")
    Options: ClassVar[type] = ScarceOptions


class ScarceAurocGain(AurocGain):
    name = "scarce_downstream_auroc_gain"
    summary = ("downstream_auroc_gain when the classifiers see 10 % of the real train split "
               "(the data-scarce arm)")
    Options: ClassVar[type] = ScarceOptions


@hookimpl
def register_metrics(register) -> None:
    for metric in (BalancedAccuracyGain(), AurocGain(), TrainSyntheticTestReal(),
                   ScarceBalancedAccuracyGain(), ScarceAurocGain()):
        register(metric)
