"""Progressive growing of GANs (Karras, Aila, Laine and Lehtinen, 2018)."""

from medbench.api import hookimpl
from medbench.plugins.pggan.method import PGGAN


@hookimpl
def register_methods(register) -> None:
    register(PGGAN)
