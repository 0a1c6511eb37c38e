"""SynthRAD2023 Task 1 (MR -> CT, brain and pelvis) in its official layout."""

from medbench.api import hookimpl
from medbench.datasets.synthrad.dataset import SynthRADBrain, SynthRADPelvis


@hookimpl
def register_datasets(register) -> None:
    register(SynthRADBrain())
    register(SynthRADPelvis())
