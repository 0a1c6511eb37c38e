"""WGAN-GP (Gulrajani et al. 2017)."""

from medbench.api import hookimpl
from medbench.plugins.wgan_gp.method import WGANGP


@hookimpl
def register_methods(register) -> None:
    register(WGANGP)
