"""Fundus photographs with and without retinopathy findings (abnormality detection)."""

from medbench.api import hookimpl
from medbench.datasets.retina_lesions.dataset import RetinaLesions


@hookimpl
def register_datasets(register) -> None:
    register(RetinaLesions())
