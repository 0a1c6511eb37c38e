"""pix2pix (Isola et al. 2017) and the same U-Net without the adversarial loss (`unet-l1`)."""

from medbench.api import hookimpl
from medbench.plugins.pix2pix.method import Pix2Pix, UNetL1


@hookimpl
def register_methods(register) -> None:
    register(Pix2Pix)
    register(UNetL1)
