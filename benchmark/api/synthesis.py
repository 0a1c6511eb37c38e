"""The synthesis protocol: a method that draws new images, and what synthesis metrics read."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch

from medbench.api.data import Split
from medbench.api.features import FeatureExtractor
from medbench.api.method import Method
from medbench.api.metric import MetricInputs
from medbench.api.storage import tensor_sha256
from medbench.api.task import EvalContext

SAMPLE_CHUNK = 500  # the most images asked of `sample` in one call


class SynthesisMethod(Method):
    """A method that draws new images from what it learnt."""

    # True: `sample` receives the class label wanted for each image.
    conditional: ClassVar[bool] = False

    @abstractmethod
    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        """Return `n` images, (n, C, H, W) float in [0, 1], on any device.

        - Calls come in chunks of at most SAMPLE_CHUNK (500) images, under torch.no_grad().
        - `labels` is None for unconditional methods; for `conditional` ones it is a CPU
          int64 tensor (n,) of class indices, drawn from the train split's class mix.
        - `generator` is a CPU torch.Generator: draw all randomness from it (e.g.
          ``torch.randn(..., generator=generator).to(self.device)``) so sampling reproduces.
        - The harness does not call ``eval()``: switch BatchNorm or dropout to inference
          mode yourself if your method wants that.
        """


class ImagePool:
    """Draws stored images without repeats while they last, for methods that return real
    images (reference rows): duplicates would flatter a score, so only a request beyond
    the pool's size repeats images."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images
        self._queue = torch.empty(0, dtype=torch.long)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        while len(self._queue) < n:
            fresh = torch.randperm(len(self.images), generator=generator)
            self._queue = torch.cat([self._queue, fresh])
        taken, self._queue = self._queue[:n], self._queue[n:]
        return self.images[taken]


class GeneratedImages(MetricInputs):
    """What every task whose method produces images offers distribution metrics (FD, KID,
    PRDC): real images, the method's images, and their features in any feature space.

    - `real_images`, `generated`: (N, C, H, W) float in [0, 1]; the counts may differ.
    - `features(extractor)` extracts each side at most once per extractor. The real side
      comes from the harness's reference-feature cache when an earlier run computed it.
      The cache key is the harness's: the SHA-256 of the real images' content (dtype,
      shape, values) and the extractor's identity (space, version, weights), so images at
      another size, from another split or field, or another space can never share an entry.
    - `real_key` is accepted for tasks written before the key was the harness's, and
      ignored: a key given by a task cannot be checked, and a wrong one recorded wrong
      features as ok.
    """

    def __init__(self, real_images: torch.Tensor, generated: torch.Tensor,
                 real_key: str | None, context: EvalContext) -> None:
        super().__init__(context)
        self.real_images = real_images
        self.generated = generated
        self._real_content: str | None = None
        self._features: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def features(self, extractor: FeatureExtractor) -> tuple[torch.Tensor, torch.Tensor]:
        """(real features, generated features) in `extractor`'s space.

        Metrics that need a feature space let the user choose it and document why (e.g.
        the random CNN offline, Inception where its weights are present).
        """
        identity = extractor.identity()
        if identity not in self._features:
            if self._real_content is None:
                self._real_content = tensor_sha256(self.real_images)
            real = self.context.features.get_or_compute(
                f"images-{self._real_content[:32]}/{identity}",
                lambda: self._extract(extractor, self.real_images, "real"),
                rows=len(self.real_images))
            fake = self._extract(extractor, self.generated, "generated")
            self._features[identity] = (real, fake)
        return self._features[identity]

    def _extract(self, extractor: FeatureExtractor, images: torch.Tensor,
                 which: str) -> torch.Tensor:
        description = f"features {which} ({extractor.name})"
        with self.context.progress.bar(description, total=len(images)) as bar:
            return extractor.extract(images, self.context.device, bar)


class DistributionInputs(GeneratedImages):
    """Generated images whose real counterparts are a sample of the same distribution, not
    each image's own target: synthesis, and lesion-centred patches of lesion synthesis.
    Metrics of sample sets, such as precision, recall, density and coverage, read these."""


class SynthesisInputs(DistributionInputs):
    """What synthesis metrics read: real images, the generated ones, and their features.

    `real` is the test split; `train` is there for metrics that compare with the training
    images (memorisation, downstream classifiers), never for the method. `generated_labels`
    holds the class index of each generated image when the method was asked for classes
    (a conditional method, or the per-class protocol), else None.
    """

    def __init__(self, real: Split, train: Split, generated: torch.Tensor,
                 context: EvalContext, generated_labels: torch.Tensor | None = None) -> None:
        super().__init__(real["image"], generated, None, context)
        self.real = real
        self.train = train
        self.generated_labels = generated_labels
