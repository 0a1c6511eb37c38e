"""CycleGAN (Zhu et al. 2017) for unpaired image-to-image translation."""

from medbench.api import hookimpl
from medbench.plugins.cyclegan.method import CycleGAN


@hookimpl
def register_methods(register) -> None:
    register(CycleGAN)
