"""Errors a user can act on.

Every `MedbenchError` carries a one-line message that says what was wrong and what to do;
the CLI prints it without a traceback and exits non-zero. Plugins raise them too, e.g. a
dataset whose source files are missing.
"""

from __future__ import annotations


class MedbenchError(Exception):
    """A problem with the user's input or environment, not a bug in medbench."""

    exit_code = 1


class UnknownNameError(MedbenchError, LookupError):
    """A name that no plugin registered."""


class DuplicateNameError(MedbenchError):
    """Two plugins registered the same name."""


class UnsupportedError(MedbenchError):
    """A combination that the registered objects do not support, e.g. method x task."""


class ConfigError(MedbenchError):
    """A bad `--set`, `--metric-option`, budget, seed or other run setting."""


class DeviceError(MedbenchError):
    """The requested device is not available here."""


class OutputError(MedbenchError):
    """The run folder cannot be written."""


class DatasetIntegrityError(MedbenchError):
    """A split's content differs from the pinned manifest, or from its declared fields."""


class DataFileError(MedbenchError):
    """A dataset's source file is missing, fails its checksum, or is not what its publisher
    releases (other keys, shapes or split sizes)."""


class PluginError(MedbenchError):
    """A plugin failed to load, registered something invalid, or its item is unusable."""
