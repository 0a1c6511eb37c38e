"""Copies of training images: what the memorization audit must catch."""

from medbench.api import hookimpl
from medbench.plugins.train_copy.method import TrainCopy


@hookimpl
def register_methods(register) -> None:
    register(TrainCopy)
