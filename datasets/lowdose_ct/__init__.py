"""Low-dose CT pairs simulated in the projection domain: from the abdominal phantom, and
from the Decathlon's real liver CT."""

from medbench.api import hookimpl
from medbench.datasets.lowdose_ct.dataset import LowDoseCT
from medbench.datasets.lowdose_ct.real import LowDoseDecathlonLiver


@hookimpl
def register_datasets(register) -> None:
    register(LowDoseCT())
    register(LowDoseDecathlonLiver())
