"""Copy-paste, the trivial lesion-synthesis baseline: real training lesions pasted into the
requested masks."""

from medbench.api import hookimpl
from medbench.plugins.copy_paste.method import CopyPaste


@hookimpl
def register_methods(register) -> None:
    register(CopyPaste)
