"""medbench: an open, reproducible benchmark for GANs in medical imaging."""

from importlib.metadata import PackageNotFoundError, version

from medbench.hookspecs import hookimpl

try:
    __version__ = version("medbench")
except PackageNotFoundError:  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "hookimpl"]
