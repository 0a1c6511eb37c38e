"""`medbench datasets`: dataset cards and split manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape

from medbench.api.data import SPLITS
from medbench.api.errors import ConfigError
from medbench.api.sources import FileDataset
from medbench.cli.common import console, host_from, user_errors
from medbench.cli.output import Column, JsonOption, emit
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
                console.print(f"[bold]File:[/] {escape(file.name)} "
                              f"{file.checksum or '(no published checksum)'} from "
                              f"{escape(file.url or file.how_to_get)}", highlight=False)
        console.print("[bold]Pinned splits:[/]")
        if not dataset.manifest():
            console.print("  sizes and hashes are known once your copy is decoded; every run's "
                          "record holds them", highlight=False)
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
    as_json: JsonOption = False,
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
                label = {"ok": "present", "unpinned": "present (no published checksum)",
                         "missing": "missing", "mismatch": "checksum mismatch"}[state.state]
                rows.append((dataset.name, label, dataset.licence, state.file.name,
                             str(state.path) if state.path else "-"))
        # File names and paths fold, never cut: they are copied.
        emit([Column("dataset", names=True), Column("state"), Column("licence", drop=1),
              Column("file"), Column("path")], rows, as_json)
        if console.is_terminal and not as_json:
            console.print(f"Searched: {escape(', '.join(map(str, dirs)))} and each "
                          f"dataset's conventional folder.", highlight=False, overflow="fold")


def _numbers(text: str | None, option: str, count: int) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise ConfigError(f"{option} takes {count} comma-separated numbers, got '{text}'.")
    return values


def _words(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(part.strip() for part in text.split(",")
                                           if part.strip())


@app.command("add")
def add_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name for the dataset, e.g. my-liver-ct.")],
    source: Annotated[Path, typer.Option("--from", help="Folder the manifest's paths are relative to.")],
    manifest: Annotated[Path, typer.Option(help="CSV with columns path, patient and optionally split, label, mask, paired.")],
    task: Annotated[str, typer.Option(help="Which task's field names the files take: synthesis, anomaly, segmentation (image, mask), translation (mr, ct, tissue), reconstruction (low_dose, full_dose).")] = "synthesis",
    resize: Annotated[int | None, typer.Option(help="Resize every image to N x N (anti-aliased); without it, mixed shapes are refused.")] = None,
    channels: Annotated[int | None, typer.Option(help="1 (grey) or 3 (colour); default: as the files are.")] = None,
    window: Annotated[str | None, typer.Option(help="LEVEL,WIDTH mapped to [0, 1], e.g. 40,400 for CT in HU; default: 0-255 for 8-bit files, else the train split's range.")] = None,
    classes: Annotated[str | None, typer.Option(help="The declared labels, comma-separated; a label outside them is an error. Default: the labels found.")] = None,
    normal_class: Annotated[str | None, typer.Option(help="The label that means no abnormality (for the anomaly task).")] = None,
    mask_names: Annotated[str | None, typer.Option(help="Names of the mask values 0, 1, ..., comma-separated.")] = None,
    seed: Annotated[int, typer.Option(help="Seed that assigns patients to splits when the manifest has no split column.")] = 0,
    licence: Annotated[str | None, typer.Option(help="The data's licence, recorded with every run.")] = None,
    modality: Annotated[str | None, typer.Option(help="e.g. 'CT', 'T1 MR', 'fundus photography'.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Register an existing name again; its version goes up.")] = False,
) -> None:
    """Register a lab's own PNG, JPEG, TIFF, NIfTI or DICOM files as a dataset.

    Every file is read and checked first (readable, shapes, channels, masks, labels, empty
    splits, the same image or patient in two splits); nothing is registered until all pass.
    """
    from medbench.datasets.user.add import add_dataset
    from medbench.datasets.user.registry import registry_path
    from medbench.datasets.user.scan import Options

    with user_errors():
        if channels not in (None, 1, 3):
            raise ConfigError(f"--channels must be 1 or 3, got {channels}.")
        if resize is not None and not 8 <= resize <= 4096:
            raise ConfigError(f"--resize must be from 8 to 4096 pixels, got {resize}.")
        level_width = _numbers(window, "--window", 2)
        if level_width is not None and not level_width[1] > 0:
            raise ConfigError(f"--window WIDTH must be positive, got {level_width[1]:g}.")
        options = Options(task=task, size=resize, channels=channels,
                          window=level_width,  # type: ignore[arg-type]
                          classes=_words(classes), normal_class=normal_class,
                          mask_names=_words(mask_names), seed=seed)
        registries = host_from(ctx).registries
        taken = frozenset(d.name for d in registries.datasets)
        entry = add_dataset(name, source.expanduser(), manifest.expanduser(), options,
                            replace=replace, taken=taken, licence=licence, modality=modality)
        counts = entry["counts"]
        fields = ", ".join(f"{spec['name']} ({spec['kind']})" for spec in entry["fields"])
        console.print(f"registered {escape(name)} version {entry['version']}: "
                      f"{counts['train']} train, {counts['val']} val, {counts['test']} test "
                      f"images at {entry['native_size']} px; fields {escape(fields)}; splits "
                      f"{escape(entry['split_source'])}; {len(entry['files'])} files pinned by "
                      f"SHA-256 in {escape(str(registry_path()))}", highlight=False,
                      soft_wrap=True)
