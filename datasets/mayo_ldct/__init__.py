"""The AAPM/Mayo 2016 Low Dose CT Grand Challenge in its released layout."""

from medbench.api import hookimpl
from medbench.datasets.mayo_ldct.dataset import MayoLowDoseCT1mm, MayoLowDoseCT3mm


@hookimpl
def register_datasets(register) -> None:
    register(MayoLowDoseCT3mm())
    register(MayoLowDoseCT1mm())
