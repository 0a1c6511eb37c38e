"""What the CLI prints fits an 80-column terminal without cutting a name, pipes as one row per
line, and has a JSON form for scripts."""

from __future__ import annotations

import json
import re

import pytest

from medbench.cli import app, installed_version, reflow
from medbench.store import ResultStore

from support import minimal_record

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LISTINGS = [["list", "methods"], ["list", "tasks"], ["list", "datasets"], ["list", "metrics"],
            ["list", "reporters"], ["list", "spaces"], ["plugins"], ["weights", "status"],
            ["datasets", "status", "phantom", "pneumoniamnist-64"], ["results", "list"]]


def names_of(host, command: list[str]) -> list[str]:
    """The names a listing must show whole: the first column of each row."""
    registries = host.registries
    if command[0] == "list":
        kind = {"spaces": "feature_spaces"}.get(command[1], command[1])
        return [entry.name for entry in getattr(registries, kind).entries()]
    if command[0] == "plugins":
        return [name for name, _ in host.pm.list_name_plugin()]
    if command[0] == "datasets":
        return command[2:]
    return []


def on_a_terminal(monkeypatch, runner, host, args: list[str], columns: int = 80) -> str:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws its table as on a terminal
    monkeypatch.setenv("COLUMNS", str(columns))
    result = runner.invoke(app, args, obj=host)
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.stdout)


@pytest.mark.parametrize("command", LISTINGS, ids=" ".join)
def test_every_listing_fits_80_columns_and_cuts_no_name(monkeypatch, runner, host,
                                                        command: list[str]) -> None:
    shown = on_a_terminal(monkeypatch, runner, host, command)
    too_wide = [line for line in shown.splitlines() if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)
    for name in names_of(host, command):
        assert name in shown, f"{name} is cut or missing:\n{shown}"


@pytest.mark.parametrize("command", LISTINGS, ids=" ".join)
def test_every_listing_pipes_one_row_per_line_and_has_json(runner, host,
                                                           command: list[str]) -> None:
    piped = runner.invoke(app, command, obj=host)  # CliRunner's stdout is no terminal
    assert piped.exit_code == 0, piped.output
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert "┃" not in piped.stdout and "│" not in piped.stdout
    assert set(names_of(host, command)) <= {row[0] for row in rows}
    as_json = runner.invoke(app, [*command, "--json"], obj=host)
    assert as_json.exit_code == 0, as_json.output
    objects = json.loads(as_json.stdout)
    listed = objects["plugins"] if isinstance(objects, dict) else objects
    assert len(listed) == len(rows)
    assert all(isinstance(item, dict) for item in listed)


def test_grep_finds_a_task_by_its_name(runner, host) -> None:
    piped = runner.invoke(app, ["list", "tasks"], obj=host)
    matching = [line for line in piped.stdout.splitlines() if "synthesis" in line]
    assert any(line.split("\t")[0] == "synthesis" for line in matching)


def test_a_narrow_terminal_drops_descriptive_columns_not_names(monkeypatch, runner,
                                                               host) -> None:
    wide = on_a_terminal(monkeypatch, runner, host, ["list", "tasks"], columns=400)
    narrow = on_a_terminal(monkeypatch, runner, host, ["list", "tasks"], columns=80)
    assert "summary" in wide and "summary" not in narrow
    for header in ("task", "methods"):
        assert header in narrow


def test_the_run_summary_fits_80_columns(monkeypatch, runner, host, tiny_args) -> None:
    shown = on_a_terminal(monkeypatch, runner, host,
                          tiny_args("gaussian", "--metrics",
                                    "fd_randcnn,precision_randcnn,memorization"))
    table = shown[shown.index("┏"):shown.index("┘") + 1]
    assert all(len(line) <= 80 for line in table.splitlines()), table
    for name in ("fd_randcnn", "precision_randcnn", "memorization"):
        assert name in table


def test_version(runner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"medbench {installed_version()}"


def test_help_paragraphs_are_reflowed_not_broken_mid_sentence() -> None:
    text = """First line
    goes on.

    Second paragraph
    goes on too.

    - a list item
      continued
    - another"""
    assert reflow(text) == ("First line goes on.\n\nSecond paragraph goes on too.\n\n"
                            "- a list item continued\n- another")


@pytest.mark.parametrize("command", [["sweep"], ["report"], ["leaderboard"], ["run"],
                                     ["results", "export"], ["datasets", "status"]], ids=" ".join)
def test_help_fits_80_columns(monkeypatch, runner, command: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    # A sentence is never broken by a docstring's own line break: no line of the
    # description ends in mid-sentence well short of the width.
    description = result.stdout.split("Usage:")[1].split("╭")[0].splitlines()[2:]
    short = [line for line in description
             if line.strip() and len(line.rstrip()) < 50 and not line.rstrip().endswith(".")
             and not line.strip().startswith("-")]
    assert not short, short


def test_results_show_prints_one_line_of_json_for_scripts(runner, host, tmp_path) -> None:
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        key = store.put(minimal_record("a-run"))
    result = runner.invoke(app, ["results", "show", key, "--db", str(db), "--json"], obj=host)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert json.loads(result.stdout)["run_id"] == "a-run"
