"""The feature spaces that synthesis metrics compare images in, shared by every such metric.

- ``randcnn``: a fixed random CNN; works offline, suits non-natural images. The default.
- ``inception``: pytorch-fid's InceptionV3 pool3 features; needs the weights file, and its
  metrics are recorded as unavailable (with the reason) where it is missing. One pass of
  the network serves every metric in the space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medbench.api import FeatureExtractor, NoOptions, PinnedWeights
from medbench.metrics.features.inception import (
    INCEPTION_WEIGHTS,
    WEIGHTS_FILENAME,
    InceptionExtractor,
    hub_weights_path,
    weights_problem,
)
from medbench.metrics.features.random_cnn import RandomCNNExtractor


@dataclass(frozen=True)
class InceptionOptions:
    # pytorch-fid's weights file; None: the torch hub cache. `--inception-weights` sets it.
    inception_weights: Path | None = None

    def __post_init__(self) -> None:
        """Checks the weights file before the run starts, not after training."""
        given = self.inception_weights
        if given is not None and not Path(given).is_file():
            raise ValueError(f"inception_weights {given} is not a file. Pass the path of "
                             f"pytorch-fid's {WEIGHTS_FILENAME}, or omit it")
        path = Path(given) if given is not None else hub_weights_path()
        if path.is_file():
            problem = weights_problem(path)
            if problem:
                where = "" if given is not None else " (the torch hub cache)"
                raise ValueError(f"the Inception weights {path}{where} {problem}. Replace "
                                 f"them with pytorch-fid's {WEIGHTS_FILENAME}")


@dataclass(frozen=True)
class FeatureSpace:
    """A named feature space: how to build its extractor from a metric's options."""

    name: str
    Options: type
    extractor: Callable[[Any], FeatureExtractor]
    default: bool  # whether its metrics run without --metrics
    cost: str
    # The pretrained weights its extractor reads with these options (the harness fetches them).
    weights: Callable[[Any], tuple[PinnedWeights, ...]] = lambda options: ()


class InFeatureSpace:
    """Mixed into a metric computed in `space`: the space's weights are the metric's."""

    space: FeatureSpace

    def weights(self, options: Any) -> tuple[PinnedWeights, ...]:
        return self.space.weights(options)


_RANDOM_CNN = RandomCNNExtractor()

RANDCNN = FeatureSpace("randcnn", NoOptions, lambda options: _RANDOM_CNN, default=True,
                       cost="cheap")
# InceptionV3 at 299x299: about 6 img/s on a 2-core CPU.
INCEPTION = FeatureSpace("inception", InceptionOptions,
                         lambda options: InceptionExtractor(options.inception_weights),
                         default=True, cost="expensive",
                         weights=lambda options: () if options.inception_weights is not None
                         else (INCEPTION_WEIGHTS,))
FEATURE_SPACES: tuple[FeatureSpace, ...] = (RANDCNN, INCEPTION)


def unofficial_caveat(details: dict[str, Any], metric: str) -> str | None:
    """Why a value from non-official Inception weights must not be ranked, else None."""
    if details.get("official_weights") is not False:
        return None
    return (f"computed with Inception weights that are not pytorch-fid's official ones "
            f"(sha256 {details['weights_sha256'][:12]}…): not comparable with published "
            f"{metric} values")
