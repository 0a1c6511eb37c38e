"""The identity floor of the image-to-image tasks."""

from medbench.api import hookimpl
from medbench.plugins.identity.method import Identity


@hookimpl
def register_methods(register) -> None:
    register(Identity)
