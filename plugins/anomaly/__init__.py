"""Abnormality detection: AnoGAN, f-AnoGAN, GANomaly and the autoencoder baseline, built
from one set of DCGAN-shaped networks.

Written here, not imported: anomalib has GANomaly but brings Lightning and its own data
pipeline, which medbench's harness replaces, and AnoGAN and f-AnoGAN have no maintained
package; the networks are small.
"""

from medbench.api import hookimpl
from medbench.plugins.anomaly.anogan import AnoGAN, FAnoGAN
from medbench.plugins.anomaly.autoencoder import Autoencoder
from medbench.plugins.anomaly.ganomaly import GANomaly


@hookimpl
def register_methods(register) -> None:
    for method in (AnoGAN, FAnoGAN, GANomaly, Autoencoder):
        register(method)
