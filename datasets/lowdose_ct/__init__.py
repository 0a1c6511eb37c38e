"""Low-dose CT pairs simulated in the projection domain from the abdominal phantom."""

from medbench.api import hookimpl
from medbench.datasets.lowdose_ct.dataset import LowDoseCT


@hookimpl
def register_datasets(register) -> None:
    register(LowDoseCT())
