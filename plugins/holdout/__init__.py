"""Held-out real images: the floor of every synthesis metric."""

from medbench.hookspecs import hookimpl
from medbench.plugins.holdout.method import Holdout


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - the documented callback
    register(Holdout)
