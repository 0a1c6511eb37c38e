"""The `medbench` command line: thin commands over the library."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from medbench.cli import (
    datasets,
    leaderboard,
    listing,
    plugins,
    reader_study,
    results,
    run,
    sweep,
    weights,
)

app = typer.Typer(
    name="medbench",
    help="Benchmark generative adversarial methods for medical imaging on pinned splits, "
    "matched budgets and shared metric code.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def installed_version() -> str:
    try:
        return version("medbench")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"medbench {installed_version()}")
        raise typer.Exit()


@app.callback()
def _main(version_: Annotated[bool, typer.Option("--version", help="Print medbench's version and exit.", callback=_show_version, is_eager=True)] = False) -> None:
    """Options before any command: --version."""


app.command("run")(run.run_command)
app.command("rerun")(run.rerun_command)
app.command("evaluate")(run.evaluate_command)
app.command("sweep")(sweep.sweep_command)
app.command("leaderboard")(leaderboard.leaderboard_command)
app.command("report")(leaderboard.report_command)
app.command("list")(listing.list_command)
app.command("card")(listing.card_command)
app.add_typer(plugins.app, name="plugins")
app.add_typer(datasets.app, name="datasets")
app.add_typer(results.app, name="results")
app.add_typer(weights.app, name="weights")
app.add_typer(reader_study.app, name="reader-study")


def reflow(text: str) -> str:
    """A docstring as help: each paragraph on one line, so that the terminal wraps it (rich
    keeps a docstring's line breaks after its first paragraph). List items ("- ") and
    indented lines keep their own lines."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(text)):
        lines: list[str] = []
        for line in paragraph.splitlines():
            if lines and not line.startswith(("- ", "* ", "    ")) \
                    and not lines[-1].startswith("    "):
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _reflow_help(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        doc = command.help or inspect.getdoc(command.callback)
        if doc:
            command.help = reflow(doc)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _reflow_help(group.typer_instance)


_reflow_help(app)


def main() -> None:
    app()
