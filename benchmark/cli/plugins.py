"""`medbench plugins`: installed plugins, their hooks, and what is wrong with any of them;
`medbench plugins check`: a method's contract, checked by running it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError
from medbench.cli.common import console, err_console, host_from, print_error, user_errors
from medbench.cli.output import Cell, Column, JsonOption, emit
from medbench.cli.progress import RichProgress
from medbench.cli.scaffold import write_plugin
from medbench.host.manager import PluginHost
from medbench.testing import CHECK_BUDGET, check_method

app = typer.Typer(help="Installed plugins; `plugins check METHOD` runs a method's contract "
                  "checks.", context_settings={"help_option_names": ["-h", "--help"]})


@app.callback(invoke_without_command=True)
def plugins_command(
    ctx: typer.Context, as_json: JsonOption = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when any plugin is broken (failed to load or registered something invalid), e.g. in CI.")] = False,
) -> None:
    """List installed plugins with their distribution, version and hooks; problems go to
    stderr (with --json, into the JSON). Broken plugins are listed without failing the
    command, unless --check is given."""
    if ctx.invoked_subcommand is not None:
        return
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


@app.command("check")
def check_command(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help="The method to check.")],
    task: Annotated[list[str] | None, typer.Option("--task", help="Check only this task (repeatable); default: every task the method claims.", show_default=False)] = None,
    device: Annotated[str, typer.Option(help="A device to run on besides the CPU, e.g. cuda.")] = "cpu",
    dataset: Annotated[str | None, typer.Option("--dataset", help="Check on this dataset; default: each task's own.", show_default=False)] = None,
    budget: Annotated[str, typer.Option("--budget", help="The budget of the check runs.")] = CHECK_BUDGET,
    out: Annotated[Path | None, typer.Option("--out", help="Keep the check runs' folders here; default: a temporary folder.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Run METHOD at the `check` budget on every task it claims and report each point of the
    contract, pass or fail with the reason: outputs (shape, dtype, range), exactly the
    budget, determinism on the CPU, the device, and copies of test images. Exit 1 on any
    failure. The same checks are `medbench.testing.check_method` for a plugin's tests."""
    with user_errors():
        registries = host_from(ctx).registries
        registries.methods.get(method)  # an unknown name: one line, with suggestions
        try:
            results = check_method(
                method, registries, task, device, out, dataset, budget,
                RichProgress(err_console),
                lambda line: err_console.print(f"[dim]{escape(line)}[/]", highlight=False,
                                               soft_wrap=True))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        columns = [Column("task", names=True), Column("check", names=True),
                   Column("result"), Column("reason", drop=1)]
        emit(columns, [[r.task, r.point, r.outcome, r.reason] for r in results], as_json,
             title=f"medbench plugins check {method}")
    if any(result.outcome == "fail" for result in results):
        raise typer.Exit(1)


@app.command("new")
def new_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The method's name, e.g. my-gan.")],
    task: Annotated[str, typer.Option("--task", help="The task it is for (`medbench list tasks`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write medbench-NAME/ into.")] = Path("."),
) -> None:
    """Write a complete, installable plugin package for a new method of TASK: pyproject.toml
    with its entry point, a trivial but valid method, its model card, tests that use
    medbench.testing, and a README. `pip install -e medbench-NAME` and it runs."""
    with user_errors():
        registries = host_from(ctx).registries
        chosen = registries.tasks.get(task)
        if name in registries.methods:
            raise ConfigError(f"A method named '{name}' is installed already; choose another "
                              f"name")
        root = write_plugin(name, task, chosen.method_protocol.__name__, out)
        console.print(f"Wrote {escape(str(root))}. Next: pip install -e {escape(str(root))} "
                      f"&& medbench plugins check {escape(name)}", highlight=False,
                      soft_wrap=True)
