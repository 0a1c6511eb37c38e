"""The `medbench` command line: thin commands over the library."""

from __future__ import annotations

import typer

from medbench.cli import datasets, leaderboard, listing, plugins, results, run, sweep, weights

app = typer.Typer(
    name="medbench",
    help="Benchmark generative adversarial methods for medical imaging on pinned splits, "
    "matched budgets and shared metric code.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run_command)
app.command("rerun")(run.rerun_command)
app.command("evaluate")(run.evaluate_command)
app.command("sweep")(sweep.sweep_command)
app.command("leaderboard")(leaderboard.leaderboard_command)
app.command("report")(leaderboard.report_command)
app.command("list")(listing.list_command)
app.command("card")(listing.card_command)
app.command("plugins")(plugins.plugins_command)
app.add_typer(datasets.app, name="datasets")
app.add_typer(results.app, name="results")
app.add_typer(weights.app, name="weights")


def main() -> None:
    app()
