"""The abdominal phantom's lesion slices, with and without their lesion (lesion synthesis)."""

from medbench.api import hookimpl
from medbench.datasets.phantom_lesions.dataset import PhantomLesions


@hookimpl
def register_datasets(register) -> None:
    register(PhantomLesions())
