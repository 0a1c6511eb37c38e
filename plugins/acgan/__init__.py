"""AC-GAN (Odena, Olah and Shlens, 2017): a class-conditional GAN."""

from medbench.api import hookimpl
from medbench.plugins.acgan.method import ACGAN


@hookimpl
def register_methods(register) -> None:
    register(ACGAN)
