"""A lab's own datasets, registered with `medbench datasets add` and stored per user."""

from medbench.api import hookimpl
from medbench.datasets.user.dataset import UserDataset
from medbench.datasets.user.registry import load_registrations


@hookimpl
def register_datasets(register) -> None:
    for entry in load_registrations().values():
        register(UserDataset(entry))
