"""A Gaussian in PCA space: the weak baseline every GAN should beat."""

from medbench.hookspecs import hookimpl
from medbench.plugins.gaussian.method import GaussianPCA


@hookimpl
def register_methods(register) -> None:  # noqa: ANN001 - the documented callback
    register(GaussianPCA)
