"""`medbench datasets`: dataset cards and split manifests."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markdown import Markdown

from medbench.cli.common import console, host_from, user_errors
from medbench.run.paths import cache_root

app = typer.Typer(help="Inspect datasets: cards and split manifests.",
                  context_settings={"help_option_names": ["-h", "--help"]},
                  no_args_is_help=True)


@app.command("info")
def info_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name, see `medbench list datasets`.")],
) -> None:
    """Show a dataset's card and its pinned split manifest."""
    with user_errors():
        dataset = host_from(ctx).registries.datasets.get(name)
        console.print(Markdown(dataset.card()))
        console.print()
        console.print(f"[bold]Pinned splits[/] ({dataset.name} {dataset.version}):")
        for split, entry in dataset.manifest().items():
            console.print(f"  {split:5}  {entry.size:6} images  sha256 {entry.sha256}")


@app.command("manifest")
def manifest_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
) -> None:
    """Build a dataset and print its manifest as JSON (for maintainers pinning a version)."""
    with user_errors():
        dataset = host_from(ctx).registries.datasets.get(name)
        arrays = dataset.build(cache_root() / "datasets")
        splits = {}
        for split, data in arrays.items():
            counts = {cls: int((data.labels == index).sum())
                      for index, cls in enumerate(dataset.class_names)}
            splits[split] = {"size": len(data), "sha256": data.sha256(), "class_counts": counts}
        typer.echo(json.dumps({"dataset": dataset.name, "version": dataset.version,
                               "splits": splits}, indent=2))
