"""Image-to-image tasks: the method maps each test source image to a target image, and the
metrics compare its predictions with the true targets (and their distribution).

Three tasks share this protocol, each on its own physically meaningful dataset:

- `translation` (and `translation-unpaired`): T1 MR -> CT on `brain-mrct`, scored like
  SynthRAD (HU inside the body mask);
- `reconstruction`: low-dose -> full-dose CT on `lowdose-ct`, scored like fastMRI, with the
  noisy input's own scores as the baseline;
- `conditional`: vessel map -> fundus photograph on `retina`, scored for realism, against
  the paired photograph, and for condition fidelity.
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch

from medbench.api import (
    TRANSLATE_CHUNK,
    ConditionInputs,
    EvalContext,
    EvalSplits,
    HounsfieldInputs,
    ImageToImageInputs,
    ImageToImageMethod,
    Method,
    MetricInputs,
    Predictions,
    Scoring,
    Split,
    Task,
    hookimpl,
)
from medbench.tasks.samples import PANEL_CASES, as_rgb, check_samples, columns_panel

PREVIEW_TRIPLES = 12  # source, prediction, target side by side in the run's preview grid
SYNTHRAD = Scoring(data_range="field", mask=True,
                   convention="SynthRAD 2023: CT clipped to [-1024, 3000] HU, data range "
                              "4024 HU; MAE and PSNR inside the body mask, SSIM's map "
                              "averaged inside it")
FASTMRI = Scoring(data_range="target_max", mask=False,
                  convention="fastMRI: whole image, data range = the target image's maximum "
                             "(values from the bottom of the stored range), NMSE = "
                             "||target - prediction||^2 / ||target||^2")
PAIRED_PHOTO = Scoring(data_range="field", mask=False,
                       convention="whole image, 8-bit range (data range 255 of 255), "
                                  "SSIM averaged over the RGB channels")
PAIRED_PHOTO_FOV = Scoring(data_range="field", mask=True,
                           convention="inside the field-of-view mask (DRIVE), 8-bit range "
                                      "(data range 255 of 255), SSIM's map averaged inside "
                                      "it over the RGB channels")
# Sized from measured throughput on a 2-core CPU (leaderboards/evidence.md):
# pix2pix (width 16) trains ~250 img/s at 64x64 and ~640 img/s at 32x32, CycleGAN ~120 img/s
# at 32x32. Halved (from 16,000 and 8,000) so that the reference leaderboard, every method on
# every task with 3 seeds, fits in an hour there (leaderboards/README.md).
# Test splits hold 500 images; all are translated.
SMOKE_64 = {"image_size": 64, "train_images": 8_000, "eval_samples": 500}
SMOKE_32 = {"image_size": 32, "train_images": 4_000, "eval_samples": 500}
STANDARD = {"eval_samples": 500}


class ImageToImageTask(Task):
    """One source field mapped to one target field of a paired dataset.

    Subclasses name the dataset's fields and how predictions are scored. `body_field` names
    a label map whose nonzero values are the body (for masked scoring).
    """

    method_protocol: ClassVar[type[Method]] = ImageToImageMethod
    inputs: ClassVar[type[MetricInputs]] = ImageToImageInputs
    source_field: ClassVar[str]
    target_field: ClassVar[str]
    body_field: ClassVar[str | None] = None
    scoring: ClassVar[Scoring]
    unpaired: ClassVar[bool] = False  # True: every method gets unpaired data
    # A mask field that, where a dataset has one (DRIVE's field of view), limits scoring to
    # its nonzero pixels with `fov_scoring`; datasets without it are scored as before.
    fov_field: ClassVar[str | None] = None
    fov_scoring: ClassVar[Scoring | None] = None
    input_baseline: ClassVar[bool] = False  # True: source and target share units

    @property
    def required_fields(self) -> tuple[str, ...]:  # type: ignore[override]
        body = (self.body_field,) if self.body_field else ()
        return (self.source_field, self.target_field, *body)

    def method_problem(self, method_cls: type[Method]) -> str | None:
        if self.unpaired and getattr(method_cls, "paired", True):
            return "the task gives unpaired data only, and the method learns from pairs"
        return None

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """Sources and targets; unpaired (different subjects) for unpaired methods or tasks."""
        names = {self.source_field: "source", self.target_field: "target"}
        train, val = train.rename(names), val.rename(names)
        if self.unpaired or not getattr(method_cls, "paired", True):
            return unpair(train, generator), unpair(val, generator)
        return train, val

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, ImageToImageMethod)
        # The method answers on the sources alone: the targets are read afterwards.
        asked = splits.test_inputs(self.source_field)
        cases = torch.arange(min(context.num_samples, len(asked)))
        source = asked.subset(cases)[self.source_field]
        del asked
        info = splits.train.info
        expected = (info.field(self.target_field).channels, info.image_size, info.image_size)
        tick = time.perf_counter()
        predicted = self._translate(method, source, expected, context)
        predict_seconds = round(time.perf_counter() - tick, 3)
        test = splits.test.subset(cases)
        target = test[self.target_field]
        scoring, body_field = self.scoring, self.body_field
        if self.fov_field is not None and self.fov_field in test:
            scoring, body_field = self.fov_scoring, self.fov_field
        body = None
        if scoring.mask and body_field:
            body = test[body_field] != 0
        train = splits.train.rename({self.source_field: "source", self.target_field: "target"})
        inputs = self.inputs(
            source, target, predicted, test.info.field(self.source_field),
            test.info.field(self.target_field), scoring, body, self.input_baseline, train,
            None, context)
        cases = min(PANEL_CASES, len(source))
        panel = columns_panel(
            [source[:cases], predicted[:cases], target[:cases]],
            [f"input ({self.source_field})", "prediction", f"target ({self.target_field})"],
            f"test cases 0-{cases - 1}, the same for every method")
        return Predictions(inputs, preview=preview(source, predicted, target),
                           predict_seconds=predict_seconds, panel=panel)

    @staticmethod
    def _translate(method: ImageToImageMethod, source: torch.Tensor,
                   expected: tuple[int, ...], context: EvalContext) -> torch.Tensor:
        chunks: list[torch.Tensor] = []
        with context.progress.bar("translate", total=len(source)) as bar, torch.no_grad():
            for start in range(0, len(source), TRANSLATE_CHUNK):
                batch = source[start : start + TRANSLATE_CHUNK]
                images = method.translate(batch.to(context.device))
                check_samples(method.name, images, len(batch), tuple(expected),
                              what="translations")
                chunks.append(images.detach().float().cpu().clamp_(0.0, 1.0))
                bar.advance(len(batch))
        return torch.cat(chunks)


def unpair(split: Split, generator: torch.Generator) -> Split:
    """Sources from one half of the subjects, targets from the other half, shuffled: no row
    holds two images of one subject, so pairing cannot be exploited (each sample is its own
    subject in these datasets)."""
    if len(split) < 2:
        raise ValueError(f"split '{split.name}' has {len(split)} sample(s); unpairing needs "
                          f"at least 2")
    order = torch.randperm(len(split), generator=generator)
    half = len(split) // 2
    sources, targets = order[:half], order[half : 2 * half]
    targets = targets[torch.randperm(half, generator=generator)]
    return Split(split.name, {"source": split["source"][sources],
                              "target": split["target"][targets]}, split.info)


def preview(source: torch.Tensor, predicted: torch.Tensor, target: torch.Tensor,
            ) -> torch.Tensor:
    """Triples (source, prediction, target) as RGB, for the run's sample grid."""
    triples = [torch.stack([as_rgb(source[i]), as_rgb(predicted[i]), as_rgb(target[i])])
               for i in range(min(PREVIEW_TRIPLES, len(source)))]
    return torch.cat(triples)


class TranslationTask(ImageToImageTask):
    name: ClassVar[str] = "translation"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Cross-modality translation, T1 MR -> CT (paired training data); "
                              "scored in HU inside the body, SynthRAD-style")
    default_dataset: ClassVar[str] = "brain-mrct"
    primary_metric: ClassVar[str | None] = "mae_hu"  # SynthRAD ranks by MAE in HU
    source_field, target_field, body_field = "mr", "ct", "tissue"
    scoring: ClassVar[Scoring] = SYNTHRAD
    inputs: ClassVar[type[MetricInputs]] = HounsfieldInputs
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {"smoke": SMOKE_32,
                                                              "standard": STANDARD}


class UnpairedTranslationTask(TranslationTask):
    name: ClassVar[str] = "translation-unpaired"
    summary: ClassVar[str] = ("Cross-modality translation, T1 MR -> CT, from unpaired training "
                              "sets (different subjects); scored like `translation`")
    unpaired: ClassVar[bool] = True


class ReconstructionTask(ImageToImageTask):
    name: ClassVar[str] = "reconstruction"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Low-dose CT (5 % dose, FBP) -> full-dose CT; fastMRI-style "
                              "PSNR/SSIM/NMSE, with the noisy input's own scores as baseline")
    default_dataset: ClassVar[str] = "lowdose-ct"
    primary_metric: ClassVar[str | None] = "psnr"  # fastMRI-style
    source_field, target_field = "low_dose", "full_dose"
    scoring: ClassVar[Scoring] = FASTMRI
    inputs: ClassVar[type[MetricInputs]] = HounsfieldInputs
    input_baseline: ClassVar[bool] = True
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {"smoke": SMOKE_64,
                                                              "standard": STANDARD}


class ConditionalTask(ImageToImageTask):
    name: ClassVar[str] = "conditional"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Conditional synthesis, retinal vessel map -> fundus photograph; "
                              "realism (FD), fidelity to the paired photo, and to the vessels")
    default_dataset: ClassVar[str] = "retina"
    primary_metric: ClassVar[str | None] = "fd_randcnn"  # realism; fidelity has its columns
    source_field, target_field = "vessels", "fundus"
    scoring: ClassVar[Scoring] = PAIRED_PHOTO
    fov_field: ClassVar[str | None] = "fov"
    fov_scoring: ClassVar[Scoring | None] = PAIRED_PHOTO_FOV
    inputs: ClassVar[type[MetricInputs]] = ConditionInputs
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {"smoke": SMOKE_64,
                                                              "standard": STANDARD}


@hookimpl
def register_tasks(register) -> None:
    for task in (TranslationTask(), UnpairedTranslationTask(), ReconstructionTask(),
                 ConditionalTask()):
        register(task)
