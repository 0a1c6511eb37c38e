"""`medbench plugins`: installed plugins, their hooks, and what is wrong with any of them."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from medbench.cli.common import console, host_from, user_errors


def plugins_command(ctx: typer.Context) -> None:
    """List installed plugins with their distribution, version and hooks, and problems."""
    with user_errors():
        host = host_from(ctx, warn=False)
        table = Table("plugin", "distribution", "version", "hooks")
        for name, plugin in sorted(host.pm.list_name_plugin(), key=lambda item: item[0]):
            origin = host.pm.origin(plugin)
            hooks = sorted(caller.name for caller in host.pm.get_hookcallers(plugin) or [])
            table.add_row(*(escape(cell) for cell in (
                name, origin.distribution or "-", origin.version or "-", ", ".join(hooks))))
        console.print(table)
        if not host.autoload:
            console.print("Third-party plugins are switched off "
                          "(MEDBENCH_DISABLE_PLUGIN_AUTOLOAD is set).")
        if host.problems:
            problems = Table("severity", "problem", title="Plugin problems")
            for problem in host.problems:
                problems.add_row(problem.severity, escape(str(problem)))
            console.print(problems)
