"""`medbench plugins`: which plugins are installed and which hooks each implements."""

from __future__ import annotations

import typer
from rich.table import Table

from medbench.cli.common import console, host_from, user_errors


def plugins_command(ctx: typer.Context) -> None:
    """List installed plugins with their distribution, version and hooks."""
    with user_errors():
        pm = host_from(ctx).pm
        table = Table("plugin", "distribution", "version", "hooks")
        for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
            origin = pm.origin(plugin)
            hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
            table.add_row(name, origin.distribution or "-", origin.version or "-",
                          ", ".join(hooks))
        console.print(table)
