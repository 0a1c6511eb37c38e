"""Retinal vessel trees and the fundus photographs rendered from them."""

from medbench.api import hookimpl
from medbench.datasets.retina.dataset import Retina


@hookimpl
def register_datasets(register) -> None:
    register(Retina())
