"""The embedded default dataset: a procedural CT-like abdominal phantom."""

from medbench.datasets.phantom.dataset import AbdominalPhantom
from medbench.hookspecs import hookimpl


@hookimpl
def register_datasets(register) -> None:  # noqa: ANN001 - the documented callback
    register(AbdominalPhantom())
