"""DCGAN (Radford, Metz and Chintala, 2016)."""

from medbench.hookspecs import hookimpl
from medbench.plugins.dcgan.method import DCGAN


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - the documented callback
    register(DCGAN)
