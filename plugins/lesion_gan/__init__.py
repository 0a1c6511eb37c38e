"""The mask- and class-conditioned lesion inpainting GAN (`lesion-gan`) and its L1-only
ablation (`lesion-l1`)."""

from medbench.api import hookimpl
from medbench.plugins.lesion_gan.method import LesionGAN, LesionL1


@hookimpl
def register_methods(register) -> None:
    register(LesionGAN)
    register(LesionL1)
