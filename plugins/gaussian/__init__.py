"""A Gaussian in PCA space: the weak baseline every GAN should beat."""

from medbench.api import hookimpl
from medbench.plugins.gaussian.method import GaussianPCA


@hookimpl
def register_methods(register) -> None:
    register(GaussianPCA)
