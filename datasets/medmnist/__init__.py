"""MedMNIST v2 and MedMNIST+ (2D): real, public datasets at 28, 64, 128 and 224 px."""

from medbench.api import hookimpl
from medbench.datasets.medmnist.dataset import MedMNIST
from medbench.datasets.medmnist.info import SIZES, flags_2d


@hookimpl
def register_datasets(register) -> None:
    for flag in flags_2d():
        for size in SIZES:
            register(MedMNIST(flag, size))
