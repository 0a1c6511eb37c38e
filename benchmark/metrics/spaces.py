"""medbench's own feature spaces, registered through the same hook as a plugin's.

- ``randcnn``: a fixed random CNN; works offline, suits non-natural images. The default.
- ``inception``: pytorch-fid's InceptionV3 pool3 features; needs the weights file, and its
  metrics are recorded as unavailable (with the reason) where it is missing. One pass of
  the network serves every metric in the space.

Pretrained spaces beyond these (SwAV, DINOv2, RadImageNet) are plugins:
medbench.plugins.feature_spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medbench.api import FeatureSpace, NoOptions, hookimpl
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


_RANDOM_CNN = RandomCNNExtractor()

RANDCNN = FeatureSpace("randcnn", "a fixed random-CNN embedding; works offline, suits "
                       "non-natural images", NoOptions, lambda options: _RANDOM_CNN,
                       default=True, cost="cheap")
# InceptionV3 at 299x299: about 6 img/s on a 2-core CPU.
INCEPTION = FeatureSpace("inception", "pytorch-fid's InceptionV3 pool3 features",
                         InceptionOptions,
                         lambda options: InceptionExtractor(options.inception_weights),
                         default=True, cost="expensive",
                         weights=lambda options: () if options.inception_weights is not None
                         else (INCEPTION_WEIGHTS,), fd_metric="fid")


@hookimpl
def register_feature_spaces(register) -> None:
    register(RANDCNN)
    register(INCEPTION)


def unofficial_caveat(details: dict[str, Any], metric: str) -> str | None:
    """Why a value from weights other than the space's pinned release must not be ranked,
    else None. Extractors say `official_weights: False` for such files."""
    if details.get("official_weights") is not False:
        return None
    which = ("Inception weights that are not pytorch-fid's official ones"
             if str(details.get("extractor", "")).startswith("inception") else
             "weights that are not the space's pinned release")
    return (f"computed with {which} (sha256 {details['weights_sha256'][:12]}…): not "
            f"comparable with published {metric} values")
