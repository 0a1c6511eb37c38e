"""`medbench weights`: the pretrained weights that metrics read (status, fetch)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError
from medbench.cli.common import OfflineOption, console, host_from, user_errors
from medbench.cli.output import Column, JsonOption, emit
from medbench.cli.progress import RichProgress
from medbench.run.weights import fetch_weights, registered_weights

app = typer.Typer(help="Pretrained weights that metrics read: status, fetch.",
                  context_settings={"help_option_names": ["-h", "--help"]},
                  no_args_is_help=True)


@app.command("status")
def status_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every weights file the registered metrics read: present or missing, and where.

    Piped, it prints tab-separated rows (file, state, metrics, path, checksum). The
    checksum is what a download is verified against: a full SHA-256, the publisher's
    prefix of one, or "none published" (the file's own SHA-256 is then recorded with every
    value computed with it).
    """
    with user_errors():
        rows = []
        for weights, users in registered_weights(host_from(ctx).registries.metrics).items():
            path = weights.cache_path()
            checksum = ("none published" if weights.sha256 is None else
                        "sha256" if len(weights.sha256) == 64 else
                        f"sha256 prefix {weights.sha256}")
            rows.append((weights.name, "present" if path.is_file() else "missing",
                         ", ".join(users), str(path), checksum))
        emit([Column("file"), Column("state"), Column("metrics", names=True, drop=1),
              Column("path"), Column("checksum")], rows, as_json)


@app.command("fetch")
def fetch_command(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Weights files to fetch (see `medbench weights status`); default: all.")] = None,
    offline: OfflineOption = False,
) -> None:
    """Download the weights that metrics read, once, verified against their published
    SHA-256 before use, into torch hub's cache (where pytorch-fid looks too).

    Without a network it says in one line what to download and where to put it.
    """
    with user_errors():
        known = registered_weights(host_from(ctx).registries.metrics)
        by_name = {weights.name: weights for weights in known}
        unknown = sorted(set(names or []) - set(by_name))
        if unknown:
            raise ConfigError(f"No metric reads weights named {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(by_name)) or 'none'}.")
        for name in names or sorted(by_name):
            state = fetch_weights(by_name[name], RichProgress(console), offline, timeout=60)
            console.print(f"{state.action}: {escape(name)} ({escape(state.weights.pinned_by)})"
                          f" at {escape(str(state.path))}", highlight=False, soft_wrap=True)
