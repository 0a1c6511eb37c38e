"""Unconditional (or class-conditional) image synthesis.

The method learns the train split's image distribution and is asked for new images; the
task compares them with the real test split, which the method never sees.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch

from medbench.api.dataset import Split
from medbench.api.method import Method, SynthesisMethod
from medbench.api.metric import MetricResult, MetricUnavailable
from medbench.api.task import EvalContext, Evaluation, Task
from medbench.hookspecs import hookimpl
from medbench.metrics.features.base import FeatureExtractor
from medbench.metrics.features.cache import ReferenceFeatureCache
from medbench.progress import SilentProgress
from medbench.run.seeding import derived_generator

SAMPLE_CHUNK = 500
PREVIEW_IMAGES = 64


class SampleError(Exception):
    """The method's samples break the synthesis protocol (shape, range, NaN)."""


class SynthesisInputs:
    """What synthesis metrics read: real test images, generated images, their features.

    Features are extracted at most once per extractor; the real ones come from the
    reference cache when a previous run computed them.
    """

    def __init__(self, real: Split, generated: torch.Tensor, labels: torch.Tensor | None,
                 context: EvalContext) -> None:
        self.real = real
        self.generated = generated
        self.generated_labels = labels
        self.seed = context.seed
        self.options = context.options
        self._context = context
        self._cache = ReferenceFeatureCache(context.cache_dir)
        self._features: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def features(self, extractor: FeatureExtractor) -> tuple[torch.Tensor, torch.Tensor]:
        identity = extractor.identity(self.options)
        if identity not in self._features:
            real, _ = self._cache.get_or_compute(
                self._context.dataset_key, self.real.name, identity,
                lambda: self._extract(extractor, self.real.images,
                                      f"features real ({extractor.name})"),
            )
            fake = self._extract(extractor, self.generated,
                                 f"features generated ({extractor.name})")
            self._features[identity] = (real, fake)
        return self._features[identity]

    def _extract(self, extractor: FeatureExtractor, images: torch.Tensor,
                 description: str) -> torch.Tensor:
        progress = self._context.progress or SilentProgress()
        with progress.bar(description, total=len(images)) as bar:
            return extractor.extract(images, self.options, self._context.device, bar)


class SynthesisTask(Task):
    name: ClassVar[str] = "synthesis"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[str] = "synthesis"
    summary: ClassVar[str] = (
        "Learn the training images' distribution; generated images are compared with the "
        "held-out test split in feature space"
    )
    default_dataset: ClassVar[str] = "phantom"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "label")
    method_base: ClassVar[type[Method]] = SynthesisMethod

    def evaluate(self, method: Method, test: Split, context: EvalContext) -> Evaluation:
        assert isinstance(method, SynthesisMethod)
        tick = time.perf_counter()
        labels = self._wanted_labels(method, test, context)
        generated = self._sample(method, test, context, labels)
        sample_seconds = round(time.perf_counter() - tick, 3)

        inputs = SynthesisInputs(test, generated, labels, context)
        metrics: dict[str, MetricResult] = {}
        notices: list[str] = []
        for metric in context.metrics:
            try:
                value, n_samples, details = metric.compute(inputs)
                metrics[metric.name] = metric.result(value, n_samples, details)
            except MetricUnavailable as missing:
                metrics[metric.name] = metric.result(None, {}, {}, "unavailable", missing.reason)
                if missing.hint and missing.hint not in notices:
                    notices.append(missing.hint)
            except Exception as exc:  # noqa: BLE001 - one broken metric must not lose the rest
                metrics[metric.name] = metric.result(
                    None, {}, {}, "failed", f"{type(exc).__name__}: {exc}")
        return Evaluation(metrics, preview=generated[:PREVIEW_IMAGES],
                          sample_seconds=sample_seconds, notices=notices)

    @staticmethod
    def _wanted_labels(method: SynthesisMethod, test: Split,
                       context: EvalContext) -> torch.Tensor | None:
        """For conditional methods: the test split's class mix, in a seeded order."""
        if not method.conditional:
            return None
        generator = derived_generator(context.seed, "sample-labels")
        index = torch.randint(len(test), (context.num_samples,), generator=generator)
        return test.labels[index]

    @staticmethod
    def _sample(method: SynthesisMethod, test: Split, context: EvalContext,
                labels: torch.Tensor | None) -> torch.Tensor:
        generator = derived_generator(context.seed, "sampling")
        expected = (test.channels, test.image_size, test.image_size)
        chunks: list[torch.Tensor] = []
        progress = context.progress or SilentProgress()
        with progress.bar("sample", total=context.num_samples) as bar, torch.no_grad():
            for start in range(0, context.num_samples, SAMPLE_CHUNK):
                n = min(SAMPLE_CHUNK, context.num_samples - start)
                wanted = None if labels is None else labels[start : start + n]
                images = method.sample(n, wanted, generator)
                _check_samples(method.name, images, n, expected)
                chunks.append(images.detach().float().cpu().clamp_(0.0, 1.0))
                bar.advance(n)
        return torch.cat(chunks)


def _check_samples(method: str, images: Any, n: int, expected: tuple[int, int, int]) -> None:
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (n, *expected):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise SampleError(f"method '{method}' returned samples of shape {shape}, expected "
                          f"{(n, *expected)}")
    if not torch.isfinite(images).all():
        raise SampleError(f"method '{method}' returned non-finite pixel values")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise SampleError(f"method '{method}' returned pixels in [{low:.3f}, {high:.3f}], "
                          f"expected [0, 1]")


@hookimpl
def register_tasks(register) -> None:  # noqa: ANN001 - the documented callback
    register(SynthesisTask())
