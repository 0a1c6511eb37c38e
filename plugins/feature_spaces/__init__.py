"""Feature spaces beyond the defaults: SwAV, DINOv2, RadImageNet, and radiomics (with FRD).

Registered through `register_feature_spaces`, so FD, KID, precision, recall, density and
coverage are computed in each (``fd_swav``, ``kid_dinov2``, ``coverage_radimagenet``, ...)
by the harness's own metric code. None is on by default: three read a pretrained network
of 20-25 M parameters at 224x224, which a GPU does in seconds and a 2-core CPU in minutes,
and radiomics runs PyRadiomics image by image on the CPU. Ask for them with
``--metrics default,fd_swav,fd_dinov2,frd``.

Why these: Woodland et al. (MICCAI 2024) found that Fréchet distances in self-supervised
features (SwAV) agreed best with radiologists' judgement of synthetic medical images, and
that RadImageNet's were volatile; CheXGenBench and medigan report several spaces too.
"""

from __future__ import annotations

from medbench.api import hookimpl
from medbench.plugins.feature_spaces.dinov2 import DINOV2
from medbench.plugins.feature_spaces.radimagenet import RADIMAGENET
from medbench.plugins.feature_spaces.radiomics import RADIOMICS, FrechetRadiomicDistance
from medbench.plugins.feature_spaces.swav import SWAV

SPACES = (SWAV, DINOV2, RADIMAGENET, RADIOMICS)


@hookimpl
def register_feature_spaces(register) -> None:
    for space in SPACES:
        register(space)


@hookimpl
def register_metrics(register) -> None:
    register(FrechetRadiomicDistance())
