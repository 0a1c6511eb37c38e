"""Pixel-wise fidelity of image-to-image predictions: PSNR, SSIM, NMSE and MAE in HU.

Each value is computed per test image and averaged; where a task's source and target share
units (denoising), the untouched input is scored the same way, and the record shows it with
the method's gain over it. How images are read (data range, body mask) is the task's
`Scoring`, recorded with every score; the tasks' docstrings name the conventions they follow.
"""

from __future__ import annotations

from abc import abstractmethod
from importlib.metadata import version
from typing import Any, ClassVar

import torch
from skimage.metrics import structural_similarity
from torchmetrics.functional.image import peak_signal_noise_ratio
from torchmetrics.functional.regression import mean_absolute_error, mean_squared_error

from medbench.api import (
    HounsfieldInputs,
    ImageToImageInputs,
    Metric,
    MetricInputs,
    MetricUnavailable,
    Score,
    hookimpl,
)

SSIM_WINDOW = 7  # uniform 7x7 window, K1 0.01, K2 0.03: scikit-image's and fastMRI's SSIM


class PixelMetric(Metric):
    reads: ClassVar[type[MetricInputs]] = ImageToImageInputs
    function: ClassVar[str]  # what computes it, for the record

    @property
    def implementation(self) -> tuple[str, str]:
        return self.function, version("torchmetrics")

    def compute(self, inputs: ImageToImageInputs, options: Any) -> Score:
        values = self.per_image(inputs, inputs.predicted)
        defined = ~torch.isnan(values)
        undefined = int((~defined).sum())
        if not defined.any():
            raise MetricUnavailable(f"undefined on every test image: {self.undefined_when}")
        values = values[defined]
        mean = float(values.mean())
        details: dict[str, Any] = {"std_over_images": float(values.std()) if len(values) > 1
                                   else 0.0, "convention": inputs.scoring.convention}
        if undefined:
            # Left out, and said so: a clamped denominator would give a finite, absurd value
            # (PSNR -135 dB on an all-zero target) that would pass as a score.
            details.update(undefined_images=undefined, undefined_when=self.undefined_when)
        if inputs.input_baseline:
            baseline = float(self.per_image(inputs, inputs.source)[defined].mean())
            # Gain is improvement: positive when the method beats its input.
            gain = mean - baseline if self.higher_is_better else baseline - mean
            details.update(input=baseline, gain=gain)
        return Score(mean, {"test": len(values)}, details)

    # Why an image can have no value (NaN from `per_image`); those images are left out.
    undefined_when: ClassVar[str] = "the target image has no signal"

    @abstractmethod
    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        """(N,) scores of `images` against the inputs' targets; NaN where undefined."""


def data_ranges(inputs: ImageToImageInputs) -> torch.Tensor:
    """Each target image's data range in [0, 1] units (see Scoring.data_range); 0 for an
    all-zero target under the fastMRI convention, where PSNR and SSIM are undefined."""
    if inputs.scoring.data_range == "field":
        return torch.ones(len(inputs.target), dtype=torch.float64)
    return inputs.target.double().flatten(1).amax(dim=1).clamp_min(0.0)


def body_of(inputs: ImageToImageInputs, index: int) -> torch.Tensor | None:
    """Image `index`'s scored pixels, broadcast over its channels; None = all pixels."""
    if inputs.body is None:
        return None
    return inputs.body[index].expand_as(inputs.target[index])


class PSNR(PixelMetric):
    name = "psnr"
    summary = "Peak signal-to-noise ratio against the true target, per image, averaged"
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "dB"
    range: ClassVar[tuple[float | None, float | None]] = (None, None)
    function = "torchmetrics.functional.image.peak_signal_noise_ratio"
    undefined_when = "the target image is all zero (data range 0)"

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        ranges = data_ranges(inputs)
        values = []
        for i in range(len(images)):
            if ranges[i] <= 0:
                values.append(torch.tensor(float("nan"), dtype=torch.float64))
                continue
            pred, target, body = images[i].double(), inputs.target[i].double(), body_of(inputs, i)
            if body is not None:
                pred, target = pred[body], target[body]
            values.append(peak_signal_noise_ratio(pred, target, data_range=float(ranges[i])))
        return torch.stack(values)


class SSIM(PixelMetric):
    name = "ssim"
    summary = "Structural similarity with the true target (7x7 uniform window), averaged"
    higher_is_better: ClassVar[bool] = True
    units: ClassVar[str] = "index"
    range: ClassVar[tuple[float | None, float | None]] = (-1.0, 1.0)
    # scikit-image's own function, which fastMRI and SynthRAD call: torchmetrics' SSIM divides
    # the variances by N (scikit-image: N - 1) and pads the border like scipy's `mirror`
    # (scikit-image: `reflect`), which moved the low-dose identity baseline by 1.2e-3.
    function = "skimage.metrics.structural_similarity"
    undefined_when = "the target image is all zero (data range 0)"

    @property
    def implementation(self) -> tuple[str, str]:
        return self.function, version("scikit-image")

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        ranges = data_ranges(inputs)
        values = []
        for i in range(len(images)):
            if ranges[i] <= 0:
                values.append(float("nan"))
                continue
            pred = images[i].double().numpy()
            target = inputs.target[i].double().numpy()
            body = body_of(inputs, i)
            if body is None:  # the mean over the map without its border, as scikit-image
                values.append(structural_similarity(
                    target, pred, win_size=SSIM_WINDOW, data_range=float(ranges[i]),
                    channel_axis=0))
                continue
            # SynthRAD: outside the body is set to the range's bottom, and the full map is
            # averaged inside the body.
            mask = body.numpy()
            _, full = structural_similarity(
                target * mask, pred * mask, win_size=SSIM_WINDOW, data_range=float(ranges[i]),
                channel_axis=0, full=True)
            values.append(float(full[mask].mean()))
        return torch.tensor(values, dtype=torch.float64)


class NMSE(PixelMetric):
    name = "nmse"
    summary = "Normalised MSE, ||target - prediction||^2 / ||target||^2 (fastMRI)"
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "ratio"
    function = "torchmetrics.functional.regression.mean_squared_error (ratio of two)"
    undefined_when = "the target image is all zero (||target||^2 = 0)"

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        values = []
        for i in range(len(images)):
            pred, target = images[i].double(), inputs.target[i].double()
            energy = mean_squared_error(torch.zeros_like(target), target)
            values.append(mean_squared_error(pred, target) / energy if energy > 0
                          else torch.tensor(float("nan"), dtype=torch.float64))
        return torch.stack(values)


class MAEHounsfield(PixelMetric):
    name = "mae_hu"
    summary = "Mean absolute error in Hounsfield units (inside the body where the task masks)"
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "HU"
    reads: ClassVar[type[MetricInputs]] = HounsfieldInputs
    function = "torchmetrics.functional.regression.mean_absolute_error"

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        field = inputs.target_field
        if field.units != "HU":
            raise MetricUnavailable(f"the target field '{field.name}' is in "
                                    f"'{field.units or 'no units'}', not HU")
        values = []
        for i in range(len(images)):
            pred, target = field.from_unit(images[i]), field.from_unit(inputs.target[i])
            body = body_of(inputs, i)
            if body is not None:
                pred, target = pred[body], target[body]
            values.append(mean_absolute_error(pred, target))
        return torch.stack(values)


@hookimpl
def register_metrics(register) -> None:
    for metric in (PSNR(), SSIM(), NMSE(), MAEHounsfield()):
        register(metric)
