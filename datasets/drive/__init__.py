"""DRIVE retinal fundus photographs and vessel maps in their official layout."""

from medbench.api import hookimpl
from medbench.datasets.drive.dataset import Drive


@hookimpl
def register_datasets(register) -> None:
    register(Drive())
