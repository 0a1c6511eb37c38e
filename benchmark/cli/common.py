"""Shared CLI plumbing: consoles, the plugin host, and turning errors into one line.

Everything printed that comes from users, records or plugins is escaped, so text such as
`[red]` is shown as typed instead of being read as rich markup.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from medbench.api.errors import ConfigError, MedbenchError
from medbench.api.storage import name_too_long
from medbench.host.manager import PluginHost, load_host

OfflineOption = Annotated[bool, typer.Option("--offline", help="Touch no network: fetch no weights (their metrics are then unavailable where the file is missing).", envvar="MEDBENCH_OFFLINE")]

CheckpointEveryOption = Annotated[int | None, typer.Option("--checkpoint-every", help="Images between training checkpoints, from which a killed run resumes (methods that can resume); 0: none. Default: a fifth of the budget.", show_default=False)]
TimeLimitOption = Annotated[float | None, typer.Option("--time-limit", help="Seconds a run may take in all; a run that takes longer is recorded as failed (a sweep goes on). Default: no limit.", show_default=False)]
CompileOption = Annotated[bool, typer.Option("--compile", help="torch.compile the networks while training (methods that opted in). On a CPU it did not pay at smoke; see docs/budgets.md.")]
PrecisionOption = Annotated[str, typer.Option(help="Training precision: 32, bf16 (autocast to bfloat16) or 16-mixed (float16 autocast with a gradient scaler), for methods that opted in.")]

console = Console()
err_console = Console(stderr=True)


def host_from(ctx: typer.Context, warn: bool = True) -> PluginHost:
    """The host passed in `obj` (tests, embedding) or the installed plugins.

    Broken plugins are reported once per command as one-line warnings on stderr.
    """
    root = ctx.find_root()
    if not isinstance(root.obj, PluginHost):
        root.obj = load_host()
    host = root.obj
    if warn and not root.meta.get("medbench.warned"):
        root.meta["medbench.warned"] = True
        for problem in host.errors():
            err_console.print(f"[yellow]Warning:[/] {escape(str(problem))}", highlight=False,
                              soft_wrap=True)
    return host


def print_error(message: str) -> None:
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a MedbenchError as one line, no traceback, and exit with its code.

    A path with a name longer than the filesystem allows is the user's input wherever it is
    first touched (an option, an environment variable, a record), so it too is one line.
    """
    try:
        yield
    except MedbenchError as exc:
        print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        print_error(name_too_long(exc.filename))
        raise typer.Exit(ConfigError.exit_code) from None


def comma_list(text: str | None, option: str) -> list[str] | None:
    """The items of a comma-separated option, in order; None when it was not given.

    An empty item between others ("0,,1") is refused, as a typo that would otherwise pass
    unseen; an item given twice is kept once, with a notice, so that it cannot change a
    run's key. Every item empty ("", ",,") gives [], which the caller refuses in its words.
    """
    if text is None:
        return None
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        return []
    if not all(items):
        raise ConfigError(f"{option} '{text}' has an empty item; separate the values with "
                          f"single commas, e.g. a,b")
    unique = list(dict.fromkeys(items))
    for item in unique:
        if items.count(item) > 1:
            err_console.print(f"[yellow]Notice:[/] {option} names '{escape(item)}' "
                              f"{items.count(item)} times; it is used once.",
                              highlight=False, soft_wrap=True)
    return unique


def check_time_limit(seconds: float | None) -> None:
    if seconds is not None and not 0 < seconds < float("inf"):
        raise ConfigError(f"--time-limit must be a positive number of seconds, got {seconds}")
