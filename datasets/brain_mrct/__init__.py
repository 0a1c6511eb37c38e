"""Paired brain MR/CT slices built on the MNI152 template that ships with nilearn."""

from medbench.api import hookimpl
from medbench.datasets.brain_mrct.dataset import BrainMRCT


@hookimpl
def register_datasets(register) -> None:
    register(BrainMRCT())
