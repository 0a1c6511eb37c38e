"""Unconditional (or class-conditional) image synthesis.

The method learns the train split's image distribution and is asked for new images; the
metrics compare them with the real test split, which the method never sees.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch

from medbench.api import (
    SAMPLE_CHUNK,
    DataInfo,
    EvalContext,
    EvalSplits,
    Method,
    MetricInputs,
    Predictions,
    Split,
    SynthesisInputs,
    SynthesisMethod,
    Task,
    hookimpl,
)
from medbench.tasks.per_class import PerClass
from medbench.tasks.samples import check_samples, synthesis_panel

PREVIEW_IMAGES = 64


class SynthesisTask(Task):
    name: ClassVar[str] = "synthesis"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = (
        "Learn the training images' distribution; generated images are compared with the "
        "held-out test split in feature space"
    )
    default_dataset: ClassVar[str] = "phantom"
    primary_metric: ClassVar[str | None] = "fd_randcnn"  # offline; FID needs weights
    required_fields: ClassVar[tuple[str, ...]] = ("image", "label")
    method_protocol: ClassVar[type[Method]] = SynthesisMethod
    inputs: ClassVar[type[MetricInputs]] = SynthesisInputs

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """Images, and labels for class-conditional methods."""
        return train.select("image", "label"), val.select("image", "label")

    def prepare_method(self, method_cls: type[Method], config: Any, data: DataInfo,
                       device: torch.device, needs: frozenset[str]) -> Method:
        """Unconditional methods run the per-class protocol when a metric needs labels."""
        if "labels" in needs and issubclass(method_cls, SynthesisMethod) \
                and not method_cls.conditional:
            return PerClass(method_cls, config, data, device)
        return method_cls(config, data, device)

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, SynthesisMethod)
        tick = time.perf_counter()
        labels = self._wanted_labels(method, splits.train, context)
        # Sampled before the test split is read: it is not in the process meanwhile.
        generated = self._sample(method, splits.train.info, context, labels)
        predict_seconds = round(time.perf_counter() - tick, 3)
        inputs = SynthesisInputs(splits.test.select("image", "label"),
                                 splits.train.select("image", "label"), generated, context,
                                 generated_labels=labels)
        return Predictions(inputs, preview=generated[:PREVIEW_IMAGES],
                           predict_seconds=predict_seconds,
                           panel=synthesis_panel(generated, labels, context.data.class_names))

    @staticmethod
    def _wanted_labels(method: SynthesisMethod, train: Split,
                       context: EvalContext) -> torch.Tensor | None:
        """For conditional methods: the train split's class mix, in a seeded order.

        The train mix, never the test one: the method must learn nothing of the test split.
        """
        if not method.conditional:
            return None
        generator = context.generator("sample-labels")
        index = torch.randint(len(train), (context.num_samples,), generator=generator)
        return train["label"][index]

    @staticmethod
    def _sample(method: SynthesisMethod, info: DataInfo, context: EvalContext,
                labels: torch.Tensor | None) -> torch.Tensor:
        generator = context.generator("sampling")
        expected = (info.channels, info.image_size, info.image_size)
        chunks: list[torch.Tensor] = []
        with context.progress.bar("sample", total=context.num_samples) as bar, torch.no_grad():
            for start in range(0, context.num_samples, SAMPLE_CHUNK):
                n = min(SAMPLE_CHUNK, context.num_samples - start)
                wanted = None if labels is None else labels[start : start + n]
                images = method.sample(n, wanted, generator)
                check_samples(method.name, images, n, expected)
                chunks.append(images.detach().float().cpu().clamp_(0.0, 1.0))
                bar.advance(n)
        return torch.cat(chunks)


@hookimpl
def register_tasks(register) -> None:
    register(SynthesisTask())
