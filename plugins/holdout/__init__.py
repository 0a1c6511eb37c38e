"""Held-out real images: the floor of every synthesis metric."""

from medbench.api import hookimpl
from medbench.plugins.holdout.method import Holdout


@hookimpl
def register_methods(register) -> None:
    register(Holdout)
