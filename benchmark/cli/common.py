"""Shared CLI plumbing: consoles, the plugin host, and turning errors into one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from medbench.errors import MedbenchError
from medbench.plugin_manager import PluginHost, load_host

console = Console()
err_console = Console(stderr=True)


def host_from(ctx: typer.Context) -> PluginHost:
    """The host passed in `obj` (tests, embedding) or the installed plugins."""
    root = ctx.find_root()
    if isinstance(root.obj, PluginHost):
        return root.obj
    root.obj = load_host()
    return root.obj


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a MedbenchError as one line, no traceback, and exit with its code."""
    try:
        yield
    except MedbenchError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
