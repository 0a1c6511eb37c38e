"""DCGAN (Radford, Metz and Chintala, 2016)."""

from medbench.api import hookimpl
from medbench.plugins.dcgan.method import DCGAN


@hookimpl
def register_methods(register) -> None:
    register(DCGAN)
