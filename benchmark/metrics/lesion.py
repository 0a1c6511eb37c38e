"""Lesion-synthesis metrics: does the lesion appear where, as large and of the class asked,
is the rest of the slice left alone, and do the synthetic slices help a segmenter?

Realism needs no code here: the task's inputs are DistributionInputs of lesion-centred
patches, so FD, KID and PRDC score them in every feature space.

- `lesion_dice` (and `_border`, `_small`, `_large`): a reference segmenter
  (condition_fidelity's recipe), trained once per train split on the real lesion slices,
  segments each output; Dice against the requested mask, on the typical cases and on each
  rare placement apart. The segmenter on the real lesion slices gives the ceiling.
- `lesion_class_accuracy`: a reference classifier (the downstream recipe's CNN), trained
  once on real lesion-centred patches, names each output's lesion class; accuracy against
  the class asked. Unavailable where the dataset has one lesion class.
- `context_mae`: mean absolute change outside the requested mask grown by CONTEXT_MARGIN
  pixels, in the image field's units: a method that repaints the whole slice is caught.
- `lesion_downstream_gain` (and `scarce_…`, 10 % of the real slices): Dice of a segmenter
  trained on real plus the method's synthetic lesion slices, minus that of one trained on
  the real slices alone, on the real test lesions.

No maintained library trains these reference models; they are written here, from the
recipes other medbench metrics use. Dice is torchmetrics'; intervals are scipy's bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.stats import bootstrap

from medbench.api import (
    GROUPS,
    LesionInputs,
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
    derived_generator,
    grow,
    hookimpl,
    lesion_patches,
)
from medbench.metrics.condition_fidelity import (
    STEPS as SEGMENTER_STEPS,
)
from medbench.metrics.condition_fidelity import (
    Segmenter,
    flatten_state,
    load_flat_state,
    per_image_dice,
    segment,
    state_sha256,
    train_segmenter,
)
from medbench.metrics.downstream import recipe, stratified_subset

RECIPE_VERSION = 1  # the reference segmenter and classifier
# The downstream arms: condition fidelity's U-Net for its 250 steps, with the learning rate
# annealed to zero on a cosine (without it, the final weights of one seed scored Dice 0.76
# and of another 0.87 on the same data; with it 0.855-0.870 over three seeds), and one
# initialisation per run shared by both arms, so that their difference is the data's.
DOWNSTREAM_RECIPE = 2
CONTEXT_MARGIN = 2  # pixels around the mask where blending may change the slice
# The reference classifier's steps: at the downstream recipe's 400 it tells the phantom's
# three classes apart on 41 % of real test patches, at 4,000 on 95 % (about 47 s on a
# 2-core CPU, once per train split and device: the weights are cached).
CLASSIFIER_STEPS = 4000
BOOTSTRAP_RESAMPLES = 2000


def reference_segmenter(inputs: LesionInputs) -> tuple[Segmenter, str]:
    """The condition-fidelity segmenter trained on the train split's real lesion slices,
    cached by the split's content, the recipe and the device; with its weights' SHA-256.
    Metrics ask for it through `inputs.shared("lesion/segmenter", ...)`: loaded once."""
    context, train = inputs.context, inputs.train
    device = context.device
    net = Segmenter(train["image"].shape[1]).to(device)
    key = (f"{context.split_keys['train']}/lesion-segmenter-v{RECIPE_VERSION}-"
           f"{device.type}")
    rows = sum(t.numel() for t in net.state_dict().values())
    flat = context.features.get_or_compute(
        key, lambda: flatten_state(train_segmenter(train["image"], train["lesion"].float(),
                                                   device)), rows=rows)
    load_flat_state(net, flat)
    return net.eval(), state_sha256(flat)


def group_means(values: torch.Tensor, groups: torch.Tensor) -> dict[str, float | None]:
    return {name: float(values[groups == index].mean()) if (groups == index).any() else None
            for index, name in enumerate(GROUPS)}


class LesionDice(Metric):
    """Condition fidelity on the cases of one placement (GROUPS)."""

    reads: ClassVar[type[MetricInputs]] = LesionInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "Dice"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    cost = "moderate"

    def __init__(self, name: str, placement: str, summary: str) -> None:
        self.name, self.placement, self.summary = name, placement, summary

    @property
    def implementation(self) -> tuple[str, str]:
        return ("torchmetrics.functional.segmentation.dice_score on a medbench reference "
                "segmenter", version("torchmetrics"))

    def compute(self, inputs: LesionInputs, options: Any) -> Score:
        device = inputs.context.device
        segmenter, sha = inputs.shared("lesion/segmenter", lambda: reference_segmenter(inputs))
        per_case = inputs.shared("lesion/dice", lambda: per_image_dice(
            segment(segmenter, inputs.output, device), inputs.requested))
        groups = inputs.groups
        chosen = groups == GROUPS.index(self.placement)
        if not chosen.any():
            raise MetricUnavailable(f"no test case of the '{self.placement}' placement at "
                                    f"this image size")
        typical = int((groups == 0).sum())
        ceiling = inputs.shared("lesion/real-dice", lambda: per_image_dice(
            segment(segmenter, inputs.real, device),
            inputs.requested[:typical]))
        values = per_case[chosen]
        details: dict[str, Any] = {
            "placement": self.placement,
            "real_images_dice": float(ceiling.mean()),
            "real_images_dice_note": "the reference segmenter on the real lesion slices of "
                                     "the typical cases (rare placements have none)",
            "std_over_cases": float(values.std()) if len(values) > 1 else 0.0,
            "segmenter_sha256": sha,
            "segmenter_recipe": f"condition-fidelity U-Net, {SEGMENTER_STEPS} Adam steps, "
                                f"trained on the train split's real lesion slices",
        }
        if inputs.class_names:
            labels = inputs.labels[chosen]
            details["per_class"] = {name: float(values[labels == index].mean())
                                    for index, name in enumerate(inputs.class_names)
                                    if (labels == index).any()}
        return Score(float(values.mean()), {"cases": len(values)}, details)


class LesionClassAccuracy(Metric):
    name = "lesion_class_accuracy"
    summary = ("Share of outputs whose lesion a reference classifier, trained on real "
               "lesion patches, assigns the class asked for (typical placements)")
    reads: ClassVar[type[MetricInputs]] = LesionInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "fraction of cases"
    range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    cost = "moderate"

    @property
    def implementation(self) -> tuple[str, str]:
        return (f"medbench classifier recipe v{recipe.RECIPE_VERSION} on lesion-centred "
                f"patches", version("torch"))

    def compute(self, inputs: LesionInputs, options: Any) -> Score:
        classes = len(inputs.class_names)
        if classes < 2:
            raise MetricUnavailable(f"the dataset has {classes} lesion class: there is no "
                                    f"class to get wrong")
        context, train, patch = inputs.context, inputs.train, inputs.patch_size
        device = context.device
        model = recipe.SmallCNN(train["image"].shape[1], classes).to(device)
        key = (f"{context.split_keys['train']}/lesion-classifier-v{RECIPE_VERSION}-"
               f"r{recipe.RECIPE_VERSION}-{CLASSIFIER_STEPS}steps-p{patch}-{device.type}")
        rows = sum(t.numel() for t in model.state_dict().values())

        def train_reference() -> torch.Tensor:
            patches = lesion_patches(train["image"], train["lesion"].bool(), patch)
            generator = derived_generator(0, "lesion-class-reference")
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), \
                    context.progress.bar("reference classifier", total=CLASSIFIER_STEPS) as bar:
                trained = recipe.train_classifier(patches, train["label"], classes,
                                                  generator, device, bar, CLASSIFIER_STEPS)
            return flatten_state(trained)

        load_flat_state(model, context.features.get_or_compute(key, train_reference,
                                                               rows=rows))
        model = model.to(memory_format=torch.channels_last)
        outputs = lesion_patches(inputs.output, inputs.requested, patch)
        correct = (recipe.predict(model, outputs, device).argmax(1) == inputs.labels).float()
        typical = inputs.groups == 0
        real = recipe.predict(model, inputs.real_images, device).argmax(1)
        ceiling = (real == inputs.labels[typical]).float().mean()
        return Score(float(correct[typical].mean()), {"cases": int(typical.sum())}, {
            "per_placement": group_means(correct, inputs.groups),
            "real_patches_accuracy": float(ceiling),
            "chance": 1 / classes, "patch_size": patch,
            "classifier_recipe": f"downstream recipe v{recipe.RECIPE_VERSION}'s CNN, "
                                 f"{CLASSIFIER_STEPS} steps on the train split's real "
                                 f"lesion-centred patches",
        })


class ContextMAE(Metric):
    name = "context_mae"
    summary = (f"Mean absolute change outside the requested mask (grown by {CONTEXT_MARGIN} "
               f"px), in the image's units: is the rest of the slice left alone?")
    reads: ClassVar[type[MetricInputs]] = LesionInputs
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "the image field's units (phantom: 8-bit window levels)"

    @property
    def implementation(self) -> tuple[str, str]:
        return "torch (mean absolute difference)", version("torch")

    def compute(self, inputs: LesionInputs, options: Any) -> Score:
        outside = ~grow(inputs.requested, CONTEXT_MARGIN)
        low, high = inputs.value_range
        change = (inputs.output.double() - inputs.healthy.double()).abs() * (high - low)
        outside = outside.expand_as(change)
        per_case = (change * outside).flatten(1).sum(1) / outside.flatten(1).sum(1)
        return Score(float(change[outside].mean()), {"cases": len(per_case)}, {
            "per_placement": group_means(per_case, inputs.groups),
            "margin_pixels": CONTEXT_MARGIN, "units": inputs.units,
            "changed_pixel_share": float((change[outside] > 1e-6 * (high - low)).double()
                                         .mean()),
        })


@dataclass(frozen=True)
class LesionDownstreamOptions:
    # Share of the real train lesion slices (stratified by class) both arms learn from;
    # the synthetic slices are always the method's whole augmentation set.
    real_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 < self.real_fraction <= 1.0:
            raise ValueError(f"real_fraction must lie in (0, 1], got {self.real_fraction}")


@dataclass(frozen=True)
class ScarceLesionOptions(LesionDownstreamOptions):
    real_fraction: float = 0.1


class LesionDownstreamGain(Metric):
    reads: ClassVar[type[MetricInputs]] = LesionInputs
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "Dice difference"
    range: ClassVar[tuple[float | None, float | None]] = (-1.0, 1.0)
    cost = "expensive"  # trains one or two small U-Nets
    # Asked for by name (the reference sweep does): it trains two segmenters per run.
    default: ClassVar[bool] = False

    def __init__(self, name: str, Options: type, summary: str) -> None:
        self.name, self.Options, self.summary = name, Options, summary

    @property
    def implementation(self) -> tuple[str, str]:
        return ("medbench segmenter recipe (condition fidelity's U-Net); Dice by torchmetrics, "
                "interval by scipy.stats.bootstrap", version("torchmetrics"))

    def compute(self, inputs: LesionInputs, options: LesionDownstreamOptions) -> Score:
        context, train = inputs.context, inputs.train
        device, seed, fraction = context.device, context.seed, options.real_fraction
        keep = stratified_subset(train["label"], fraction,
                                 derived_generator(seed, f"lesion-downstream/{fraction}"))
        real_images, real_masks = train["image"][keep], train["lesion"][keep].float()
        typical = int((inputs.groups == 0).sum())
        truth = inputs.requested[:typical]

        init_seed = int(torch.randint(2**31, (1,), generator=derived_generator(
            seed, f"lesion-downstream/{fraction}")))

        def arm(images: torch.Tensor, masks: torch.Tensor, name: str) -> torch.Tensor:
            net = train_segmenter(images, masks, device, seed=init_seed,
                                  stream=f"lesion-downstream/{name}", anneal=True)
            return per_image_dice(segment(net, inputs.real, device), truth).double()

        key = (f"{context.split_keys['train']}/{context.split_keys['test']}/"
               f"lesion-downstream-real-v{DOWNSTREAM_RECIPE}-f{fraction}-s{seed}-{typical}-"
               f"{device.type}")
        cached = []

        def real_arm() -> torch.Tensor:
            cached.append(False)
            return arm(real_images, real_masks, "real")

        with context.progress.bar("downstream segmenters", total=2) as bar:
            real = context.features.get_or_compute(key, real_arm, rows=typical)
            bar.advance(1)
            augmented = arm(torch.cat([real_images, inputs.synthetic]),
                            torch.cat([real_masks, inputs.synthetic_lesion.float()]),
                            "augmented")
            bar.advance(1)
        difference = (augmented - real).numpy()
        interval_seed = int(torch.randint(2**31, (1,), generator=derived_generator(
            seed, "lesion-downstream-ci")))
        ci = bootstrap((difference,), np.mean, confidence_level=0.95,
                       n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                       random_state=np.random.default_rng(interval_seed)).confidence_interval
        return Score(float(difference.mean()), {
            "real_train": len(real_images), "synthetic": len(inputs.synthetic),
            "test": typical}, {
            "ci95": [float(ci.low), float(ci.high)],
            "ci95_method": f"paired percentile bootstrap over test images "
                           f"({BOOTSTRAP_RESAMPLES} resamples)",
            "real_fraction": fraction,
            "arms": {"real": float(real.mean()), "real+synthetic": float(augmented.mean())},
            "baseline_from_cache": not cached,
            "recipe": f"v{DOWNSTREAM_RECIPE}: condition-fidelity U-Net, {SEGMENTER_STEPS} "
                      f"Adam steps of 32 drawn from the pooled slices, learning rate "
                      f"annealed on a cosine, one initialisation shared by both arms",
        })


def builtin_metrics() -> list[Metric]:
    return [
        LesionDice("lesion_dice", "typical",
                   "Dice between the requested mask and a reference segmenter's lesion in "
                   "the output (typical placements); condition fidelity"),
        LesionDice("lesion_dice_border", "border",
                   "The same on masks moved to the organ's border, where training lesions "
                   "never lie"),
        LesionDice("lesion_dice_small", "small",
                   "The same on masks shrunk to half their size"),
        LesionDice("lesion_dice_large", "large",
                   "The same on masks grown to 1.8 times their size"),
        LesionClassAccuracy(),
        ContextMAE(),
        LesionDownstreamGain("lesion_downstream_gain", LesionDownstreamOptions,
                             "Dice gain of a lesion segmenter from adding the method's "
                             "synthetic lesion slices to all real ones"),
        LesionDownstreamGain("scarce_lesion_downstream_gain", ScarceLesionOptions,
                             "The same gain when only 10 % of the real lesion slices are "
                             "available (the data-scarce arm)"),
    ]


@hookimpl
def register_metrics(register) -> None:
    for metric in builtin_metrics():
        register(metric)
