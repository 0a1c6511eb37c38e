"""`medbench datasets`: dataset cards and split manifests."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from medbench.api.data import SPLITS
from medbench.api.errors import ConfigError
from medbench.api.sources import FileDataset
from medbench.cli.common import console, host_from, user_errors
from medbench.cli.progress import RichProgress
from medbench.run.data import build_arrays, check_fields, dataset_cache
from medbench.run.datafiles import ChecksumCache, data_dirs, locate, require
from medbench.run.fetch import fetch_dataset
from medbench.run.paths import cache_root

DataDirOption = Annotated[Path | None, typer.Option(help="Folder searched first for datasets' files; fetch downloads into it (default: $MEDBENCH_DATA, else ~/.cache/medbench/data).")]

app = typer.Typer(help="Datasets: cards, split manifests, files (status, fetch).",
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
        console.print(f"[bold]Licence:[/] {escape(dataset.licence)}", highlight=False)
        if dataset.citation:
            console.print(f"[bold]Cite:[/] {escape(dataset.citation)}", highlight=False)
        if isinstance(dataset, FileDataset):
            for file in dataset.data_files():
                console.print(f"[bold]File:[/] {escape(file.name)} {file.checksum} from "
                              f"{escape(file.url or file.how_to_get)}", highlight=False)
        console.print("[bold]Pinned splits:[/]")
        for split, entry in dataset.manifest().items():
            pinned = f"sha256 {entry.sha256}" if entry.sha256 else "pinned by its files' checksums"
            console.print(f"  {escape(split):5}  {entry.size:6} samples  {pinned}",
                          highlight=False)


@app.command("manifest")
def manifest_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
) -> None:
    """Build a dataset and print its manifest as JSON (for maintainers pinning a version)."""
    with user_errors():
        dataset = host_from(ctx).registries.datasets.get(name)
        files = None
        if isinstance(dataset, FileDataset):
            files = locate(dataset, data_dirs(), ChecksumCache())
            require(dataset, files, allow_unverified=False)
        arrays = build_arrays(dataset, dataset_cache(dataset, cache_root() / "datasets", files),
                              files)
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


@app.command("fetch")
def fetch_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. pneumoniamnist-64; with --size, the name without its size (pneumoniamnist).")],
    size: Annotated[int | None, typer.Option(help="Image size of a dataset published at several (MedMNIST: 28, 64, 128, 224).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Download a dataset's files, resuming a partial download, and verify their checksums.

    Without a network it says in one line what to download and where to put it.
    """
    with user_errors():
        registries = host_from(ctx).registries
        full = f"{name}-{size}" if size is not None else name
        if size is not None and full not in registries.datasets:
            sizes = sorted(int(d.name.rpartition("-")[2]) for d in registries.datasets
                           if d.name.rpartition("-")[0] == name)
            raise ConfigError(f"'{name}' is not published at {size} px; sizes: "
                              f"{', '.join(map(str, sizes)) or 'none (no such dataset)'}.")
        dataset = registries.datasets.get(full)
        if not isinstance(dataset, FileDataset):
            console.print(f"{escape(dataset.name)} is generated by medbench; nothing to fetch.",
                          highlight=False)
            return
        for fetched in fetch_dataset(dataset, RichProgress(console), data_dir):
            console.print(f"{fetched.action}: {escape(fetched.file.name)} "
                          f"({fetched.file.checksum}) at {escape(str(fetched.path))}",
                          highlight=False, soft_wrap=True)


@app.command("status")
def status_command(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(help="Datasets to check; default: all.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every dataset's files: present, missing or checksum mismatch, with its licence.

    Piped, it prints tab-separated rows (dataset, state, licence, file, path).
    """
    with user_errors():
        registries = host_from(ctx).registries
        chosen = [registries.datasets.get(name) for name in names] if names \
            else list(registries.datasets)
        dirs, checksums = data_dirs(data_dir), ChecksumCache()
        rows = []
        for dataset in chosen:
            if not isinstance(dataset, FileDataset):
                rows.append((dataset.name, "generated", dataset.licence, "-", "-"))
                continue
            for state in locate(dataset, dirs, checksums).states:
                label = {"ok": "present", "missing": "missing",
                         "mismatch": "checksum mismatch"}[state.state]
                rows.append((dataset.name, label, dataset.licence, state.file.name,
                             str(state.path) if state.path else "-"))
        if not sys.stdout.isatty():
            for row in rows:
                typer.echo("\t".join(row))
            return
        table = Table("dataset", "state", "licence", "file", "path")
        table.columns[0].no_wrap = True
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table)
        console.print(f"Searched: {escape(', '.join(map(str, dirs)))} and each dataset's "
                      f"conventional folder.", highlight=False, soft_wrap=True)
