"""The embedded default dataset: a procedural CT-like abdominal phantom."""

from medbench.api import hookimpl
from medbench.datasets.phantom.dataset import AbdominalPhantom


@hookimpl
def register_datasets(register) -> None:
    register(AbdominalPhantom())
