"""medbench: an open, reproducible benchmark for GANs in medical imaging.

Plugins import from :mod:`medbench.api`; everything else is the harness's own.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medbench")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
