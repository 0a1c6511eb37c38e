"""Intra-class Fréchet distance: each class's generated images against that class's real
ones, and their mean (StudioGAN's intra-class FID; Kang et al., 2023).

A single FD over the pooled classes cannot see a generator that draws the right images for
the wrong class, or one that serves the common class well and the rare one badly, which is
the case medical synthesis is for (the liver-lesion study behind the synthesis task trained
one DCGAN per class). The per-class values are kept, so the report can show them.

It reads the class of each generated image, so an unconditional method runs the per-class
protocol for it, as for the downstream metrics: that is why it runs only when asked for.
The features are the run's own (one pass of the extractor serves every metric of a space).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any, ClassVar

from medbench.api import (
    FeatureSpace,
    InFeatureSpace,
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
    SynthesisInputs,
    hookimpl,
)
from medbench.metrics.spaces import unofficial_caveat
from medbench.metrics.synthesis import frechet_distance

MIN_PER_CLASS = 2  # a covariance needs two images of the class on each side


class IntraClassFD(InFeatureSpace, Metric):
    reads: ClassVar[type[MetricInputs]] = SynthesisInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "squared feature-space distance, mean over classes"
    needs: ClassVar[frozenset[str]] = frozenset({"labels"})
    default: ClassVar[bool] = False  # it changes how unconditional methods are trained

    def __init__(self, space: FeatureSpace) -> None:
        self.space = space
        self.name = f"intra_{space.fd_name}"
        self.summary = (f"Mean over classes of the Fréchet distance between each class's "
                        f"generated and real images, in {space.summary}")
        self.Options, self.cost = space.Options, space.cost

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"torchmetrics.image.fid.FrechetInceptionDistance per class on medbench "
                f"'{self.space.name}' features", version("torchmetrics"))

    def compute(self, inputs: SynthesisInputs, options: Any) -> Score:
        if inputs.generated_labels is None:
            raise MetricUnavailable(
                "the generated images carry no class labels (an unconditional model sampled "
                "without the per-class protocol); rerun training with this metric selected")
        extractor = self.space.extractor(options)
        real, fake = inputs.features(extractor)
        real_labels, fake_labels = inputs.real["label"], inputs.generated_labels
        per_class: dict[str, float] = {}
        counts: dict[str, int] = {}
        skipped = []
        for index, name in enumerate(inputs.context.data.class_names):
            real_c, fake_c = real[real_labels == index], fake[fake_labels == index]
            counts[f"real_{name}"], counts[f"generated_{name}"] = len(real_c), len(fake_c)
            if min(len(real_c), len(fake_c)) < MIN_PER_CLASS:
                skipped.append(name)
                continue
            per_class[name] = frechet_distance(real_c, fake_c)
        if skipped:
            raise MetricUnavailable(
                f"class {', '.join(skipped)} has fewer than {MIN_PER_CLASS} real or generated "
                f"test images; the mean over classes would leave it out")
        details = {"per_class": per_class, **extractor.describe()}
        score = Score(sum(per_class.values()) / len(per_class), counts, details)
        caveat = unofficial_caveat(details, self.name)
        if caveat:
            score.comparable, score.caveat = False, caveat
        return score


@hookimpl
def register_metrics(register, feature_spaces) -> None:
    for space in feature_spaces:
        register(IntraClassFD(space))
