"""Medical Segmentation Decathlon (liver CT) in its official layout."""

from medbench.api import hookimpl
from medbench.datasets.msd.dataset import DecathlonLiver


@hookimpl
def register_datasets(register) -> None:
    register(DecathlonLiver())
