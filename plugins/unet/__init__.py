"""The U-Net segmenter and its adversarially regularised twin."""

from medbench.api import hookimpl
from medbench.plugins.unet.method import AdversarialUNet, UNetSegmenter


@hookimpl
def register_methods(register) -> None:
    register(UNetSegmenter)
    register(AdversarialUNet)
