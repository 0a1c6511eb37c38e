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
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)
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
        mean = float(values.mean())
        details: dict[str, Any] = {"std_over_images": float(values.std()) if len(values) > 1
                                   else 0.0, "convention": inputs.scoring.convention}
        if inputs.input_baseline:
            baseline = float(self.per_image(inputs, inputs.source).mean())
            # Gain is improvement: positive when the method beats its input.
            gain = mean - baseline if self.higher_is_better else baseline - mean
            details.update(input=baseline, gain=gain)
        return Score(mean, {"test": len(values)}, details)

    @abstractmethod
    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        """(N,) scores of `images` against the inputs' targets."""


def data_ranges(inputs: ImageToImageInputs) -> torch.Tensor:
    """Each target image's data range in [0, 1] units (see Scoring.data_range)."""
    if inputs.scoring.data_range == "field":
        return torch.ones(len(inputs.target), dtype=torch.float64)
    return inputs.target.double().flatten(1).amax(dim=1).clamp_min(1e-8)


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

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        ranges = data_ranges(inputs)
        values = []
        for i in range(len(images)):
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
    function = "torchmetrics.functional.image.structural_similarity_index_measure"

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        ranges = data_ranges(inputs)
        values = []
        for i in range(len(images)):
            pred, target = images[i : i + 1].double(), inputs.target[i : i + 1].double()
            body = body_of(inputs, i)
            if body is not None:  # SynthRAD: outside the body is set to the range's bottom
                pred, target = pred * body, target * body
            _, ssim_map = structural_similarity_index_measure(
                pred, target, gaussian_kernel=False, kernel_size=SSIM_WINDOW,
                data_range=float(ranges[i]), return_full_image=True)
            if body is not None:
                values.append(ssim_map[0][body].mean())
            else:
                # scikit-image (and so fastMRI) average the map without the border where
                # the window leaves the image.
                pad = (SSIM_WINDOW - 1) // 2
                values.append(ssim_map[..., pad:-pad, pad:-pad].mean())
        return torch.stack(values)


class NMSE(PixelMetric):
    name = "nmse"
    summary = "Normalised MSE, ||target - prediction||^2 / ||target||^2 (fastMRI)"
    higher_is_better: ClassVar[bool] = False
    units: ClassVar[str] = "ratio"
    function = "torchmetrics.functional.regression.mean_squared_error (ratio of two)"

    def per_image(self, inputs: ImageToImageInputs, images: torch.Tensor) -> torch.Tensor:
        values = []
        for i in range(len(images)):
            pred, target = images[i].double(), inputs.target[i].double()
            values.append(mean_squared_error(pred, target)
                          / mean_squared_error(torch.zeros_like(target), target).clamp_min(1e-12))
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
