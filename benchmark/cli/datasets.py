"""`medbench datasets`: dataset cards and split manifests."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape

from medbench.api.data import SPLITS
from medbench.cli.common import console, host_from, user_errors
from medbench.run.data import check_fields, dataset_cache
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
        console.print(f"[bold]Fields[/] ({escape(dataset.name)} {escape(dataset.version)}):",
                      highlight=False)
        for spec in dataset.fields:
            console.print(f"  {escape(spec.name)}: {spec.kind}, {spec.dtype}"
                          f"{', ' + escape(spec.units) if spec.units else ''}", highlight=False)
        console.print("[bold]Pinned splits:[/]")
        for split, entry in dataset.manifest().items():
            console.print(f"  {escape(split):5}  {entry.size:6} samples  sha256 {entry.sha256}",
                          highlight=False)


@app.command("manifest")
def manifest_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
) -> None:
    """Build a dataset and print its manifest as JSON (for maintainers pinning a version)."""
    with user_errors():
        dataset = host_from(ctx).registries.datasets.get(name)
        arrays = dataset.build(dataset_cache(dataset, cache_root() / "datasets"))
        check_fields(dataset, arrays)
        splits = {}
        for split in SPLITS:
            data = arrays[split]
            entry = {"size": len(data), "sha256": data.sha256(dataset.field_names),
                     "fields": {name: data.field_sha256(name) for name in dataset.field_names}}
            if dataset.class_names:
                entry["class_counts"] = {cls: int((data["label"] == index).sum())
                                         for index, cls in enumerate(dataset.class_names)}
            splits[split] = entry
        typer.echo(json.dumps({"dataset": dataset.name, "version": dataset.version,
                               "splits": splits}, indent=2))
