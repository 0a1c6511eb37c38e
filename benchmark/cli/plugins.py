"""`medbench plugins`: installed plugins, their hooks, and what is wrong with any of them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from medbench.cli.common import err_console, host_from, print_error, user_errors
from medbench.cli.output import Cell, Column, JsonOption, emit
from medbench.host.manager import PluginHost


def plugins_command(
    ctx: typer.Context, as_json: JsonOption = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when any plugin is broken (failed to load or registered something invalid), e.g. in CI.")] = False,
) -> None:
    """List installed plugins with their distribution, version and hooks; problems go to
    stderr (with --json, into the JSON). Broken plugins are listed without failing the
    command, unless --check is given."""
    with user_errors():
        host = host_from(ctx, warn=False)
        columns = [Column("plugin", names=True), Column("distribution", names=True),
                   Column("version"), Column("hooks", names=True, drop=1)]
        rows: list[list[Cell]] = []
        for name, plugin in sorted(host.pm.list_name_plugin(), key=lambda item: item[0]):
            origin = host.pm.origin(plugin)
            hooks = sorted(caller.name for caller in host.pm.get_hookcallers(plugin) or [])
            rows.append([name, origin.distribution, origin.version, hooks])
        if as_json:
            import json

            plugins = [{column.key: cell for column, cell in zip(columns, row, strict=True)}
                       for row in rows]
            problems = [{"severity": problem.severity, "problem": str(problem)}
                        for problem in host.problems]
            sys.stdout.write(json.dumps({"plugins": plugins, "problems": problems,
                                         "autoload": host.autoload}, indent=2) + "\n")
        else:
            _print_listing(host, columns, rows)
    if check and host.errors():
        raise typer.Exit(1)


def _print_listing(host: PluginHost, columns: list[Column], rows: list[list[Cell]]) -> None:
    emit(columns, rows)
    if not host.autoload:
        err_console.print("Third-party plugins are switched off "
                          "(MEDBENCH_DISABLE_PLUGIN_AUTOLOAD is set).", soft_wrap=True)
    for problem in host.problems:
        print_error(f"{problem.severity}: {problem}")
