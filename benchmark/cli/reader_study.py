"""`medbench reader-study`: a visual Turing test readers take in a browser (create), and
their answers scored into the results store (score). docs/reader-study.md is the guide."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbench.api.errors import ConfigError
from medbench.cli.common import OfflineOption, console, err_console, host_from, user_errors
from medbench.cli.output import Column, emit
from medbench.cli.progress import RichProgress
from medbench.cli.run import DataDirOption
from medbench.record.schema import RECORD_FILENAME, ResultRecord, read_record
from medbench.record.spec import RunSpec
from medbench.run.resample import images_of_run
from medbench.store import ResultStore, StoreError
from medbench.study.answers import read_all
from medbench.study.design import StudyRun, compose, study_sizes
from medbench.study.page import PAGE_DISPLAY, render_page
from medbench.study.records import derived_record
from medbench.study.statistics import PROPORTION_INTERVAL, score_table

app = typer.Typer(help="Reader studies (visual Turing tests): create a blinded page, score "
                       "the answers.",
                  context_settings={"help_option_names": ["-h", "--help"]},
                  no_args_is_help=True)

KEY_FILE = "key.json"
PAGE = Path("reader") / "index.html"
SCORES_FILE = "scores.json"
INSTRUCTIONS = ("Each image is either a real image or one made by a generative model. For "
                "each, answer real or synthetic, then how sure you are, from 1 (a guess) to "
                "5 (certain). There is no time limit, and no feedback. About {real:.0%} of "
                "the images are real.")


def _run_folder(path: Path) -> Path:
    folder = path.parent if path.name == RECORD_FILENAME else path
    if not (folder / RECORD_FILENAME).is_file():
        raise ConfigError(f"{path} is not a run folder (no {RECORD_FILENAME}); give the "
                          f"folders `medbench run` wrote")
    return folder


def _read_run(folder: Path) -> tuple[dict[str, Any], ResultRecord]:
    try:
        data = read_record(folder / RECORD_FILENAME)
        record = ResultRecord.from_dict(data)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {folder / RECORD_FILENAME}: {exc}") from None
    if record.status.state != "ok":
        raise ConfigError(f"Run {record.run_id} is {record.status.state}, not ok; only "
                          f"finished runs can be shown to readers")
    return data, record


@app.command("create")
def create_command(
    ctx: typer.Context,
    runs: Annotated[list[Path], typer.Argument(help="Run folders whose images readers judge (one task, dataset and image size).")],
    out: Annotated[Path, typer.Option(help="A new folder for the study: reader/index.html for readers, key.json for you.")],
    n: Annotated[int, typer.Option(help="Images in the study, real and synthetic.")] = 100,
    real_fraction: Annotated[float, typer.Option(help="Share of real images.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Seeds which real images are drawn.")] = 0,
    title: Annotated[str, typer.Option(help="The page's title.")] = "Real or synthetic?",
    data_dir: DataDirOption = None,
    offline: OfflineOption = False,
) -> None:
    """Write a blinded, self-contained study page that opens from file:// with no server.

    Synthetic images are sampled again from each run's checkpoint; real ones come from the
    runs' test split. The key (which image is real) goes to OUT/key.json only, never into
    the page: hand out OUT/reader/index.html and keep the key.
    """
    with user_errors():
        if n < 2:
            raise ConfigError(f"--n must be at least 2, got {n}")
        if not 0 < real_fraction < 1:
            raise ConfigError(f"--real-fraction must be between 0 and 1 (exclusive), got "
                              f"{real_fraction}")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigError(f"{out} exists and is not an empty folder; a study is written "
                              f"to a new one (it would mix two studies' keys)")
        folders = [_run_folder(path) for path in runs]
        _, shares = study_sizes(n, real_fraction, len(folders))  # before any sampling
        host = host_from(ctx)
        studied, originals = [], {}
        for folder, share in zip(folders, shares, strict=True):
            data, record = _read_run(folder)
            err_console.print(f"Sampling {share} images from {escape(record.run_id)}",
                              highlight=False, soft_wrap=True)
            images = images_of_run(folder, RunSpec.from_dict(data["config"]), host.registries,
                                   share, RichProgress(err_console), data_dir=data_dir,
                                   offline=offline)
            studied.append(StudyRun(record.run_id, str(folder.resolve()), record.method.name,
                                    record.task.name, record.dataset.name,
                                    record.dataset.version, record.dataset.image_size,
                                    int(record.config.seed), record.config.budget,
                                    images.generated, images.real))
            originals[record.run_id] = {**data, "images": {}}
        study = compose(studied, n, real_fraction, seed, title)
        zoom = max(1, PAGE_DISPLAY // max(studied[0].image_size, 1))
        page = render_page(study.key["study"], title, study.page_images, zoom,
                           INSTRUCTIONS.format(real=real_fraction))
        (out / PAGE).parent.mkdir(parents=True, exist_ok=True)
        (out / PAGE).write_text(page, encoding="utf-8")
        key_path = out / KEY_FILE
        key_path.write_text(json.dumps({**study.key, "records": originals}, indent=1),
                            encoding="utf-8")
        os.chmod(key_path, 0o600)
        key = study.key
        console.print(f"Study {key['study'][:12]}: {key['n']} images ({key['real']} real, "
                      f"{key['synthetic']} synthetic from {len(studied)} run(s)), shown at "
                      f"{zoom}x. Give readers {escape(str(out / PAGE))}; keep "
                      f"{escape(str(key_path))} to yourself.", highlight=False, soft_wrap=True)


def _read_key(study: Path) -> dict[str, Any]:
    path = study / KEY_FILE
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{study} has no {KEY_FILE}; give the folder `medbench reader-study "
                          f"create` wrote") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read the study key {path}: {exc}") from None
    if not isinstance(key, dict) or key.get("format") != "medbench-reader-study-key/1":
        raise ConfigError(f"{path} is not a medbench reader-study key")
    try:
        complete = all(isinstance(key[name], str) for name in ("study", "created_at")) and \
            all({"id", "truth", "run"} <= set(image) for image in key["images"]) and \
            all(run["run_id"] in key["records"] for run in key["runs"])
    except (KeyError, TypeError):
        complete = False
    if not complete:
        raise ConfigError(f"{path} is damaged (a part of the key is missing); use the key.json "
                          f"`reader-study create` wrote")
    return key


def _fmt(value: float | None, interval: list[float] | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.3f}"
    return f"{text} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else text


@app.command("score")
def score_command(
    study: Annotated[Path, typer.Argument(help="The folder `reader-study create` wrote (with key.json).")],
    answers: Annotated[list[Path], typer.Argument(help="The readers' answer files, as their browsers downloaded them.")],
    seed: Annotated[int, typer.Option(help="Seeds the bootstrap intervals.")] = 0,
    store: Annotated[bool, typer.Option(help="Store the scores as metrics of the runs studied in the results database.")] = True,
) -> None:
    """Score readers' answers: accuracy, sensitivity and ROC AUC per reader and per run,
    with intervals, and agreement between readers (Fleiss' κ).

    Every answer file is checked first (another study's, duplicated, truncated or edited
    files are refused); only then are the scores written to STUDY/scores.json and stored
    as metrics of the runs studied (reader_auc, reader_accuracy, reader_sensitivity).
    """
    with user_errors():
        key = _read_key(study)
        readers = read_all(answers, key)
        overall = score_table(readers, key, None)
        kappa, kappa_interval, kappa_reason = overall.kappa(seed)
        study_details = {"fleiss_kappa": kappa, "fleiss_kappa_ci95": kappa_interval,
                         "fleiss_kappa_note": kappa_reason,
                         "proportion_intervals": PROPORTION_INTERVAL}
        per_reader = {a.reader: overall.per_reader(i, seed) for i, a in enumerate(readers)}
        records = []
        for run in key["runs"]:
            table = score_table(readers, key, run["run_id"])
            records.append(derived_record(key["records"][run["run_id"]], key, table, readers,
                                          study_details, seed))
        results = {"study": key["study"], "readers": per_reader,
                   "fleiss_kappa": kappa, "fleiss_kappa_ci95": kappa_interval,
                   "fleiss_kappa_note": kappa_reason,
                   "runs": {r["source_run"]: {name: {"value": m["value"],
                                                     "ci95": m["details"]["ci95"]}
                                              for name, m in r["metrics"].items()}
                            for r in records}}
        (study / SCORES_FILE).write_text(json.dumps(results, indent=1), encoding="utf-8")
        folder = study / "records"
        folder.mkdir(exist_ok=True)
        for record in records:
            (folder / f"{record['source_run']}.json").write_text(json.dumps(record, indent=1),
                                                                 encoding="utf-8")
        emit([Column("reader", names=True), Column("accuracy"), Column("sensitivity"),
              Column("specificity", drop=2), Column("AUC")],
             [(name, _fmt(r["accuracy"], r["accuracy_ci95"]),
               _fmt(r["sensitivity"], r["sensitivity_ci95"]),
               _fmt(r["specificity"], r["specificity_ci95"]), _fmt(r["auc"], r["auc_ci95"]))
              for name, r in per_reader.items()],
             title=f"Readers of study {key['study'][:12]} ({PROPORTION_INTERVAL}s)")
        emit([Column("run", names=True), Column("method", names=True),
              Column("reader AUC"), Column("accuracy", drop=1)],
             [(r["source_run"], r["method"]["name"],
               _fmt(r["metrics"]["reader_auc"]["value"],
                    r["metrics"]["reader_auc"]["details"]["ci95"]),
               _fmt(r["metrics"]["reader_accuracy"]["value"],
                    r["metrics"]["reader_accuracy"]["details"]["ci95"])) for r in records],
             title="Runs: readers' mean (95% percentile bootstrap over images, readers "
                   "fixed); AUC 0.5: readers could not tell")
        agreement = f"Fleiss' κ {_fmt(kappa, kappa_interval)}" if kappa is not None else \
            f"Fleiss' κ n/a: {kappa_reason}"
        err_console.print(f"{agreement}. Scores: {escape(str(study / SCORES_FILE))}",
                          highlight=False, soft_wrap=True)
        if store:
            try:
                with ResultStore() as database:
                    for record in records:
                        database.put(record)
            except StoreError as exc:
                err_console.print(f"[yellow]Notice:[/] {escape(str(exc))}; the records are in "
                                  f"{escape(str(folder))} (`medbench results import`).",
                                  highlight=False, soft_wrap=True)
            else:
                err_console.print(f"Stored as metrics of {len(records)} run(s): reader_auc, "
                                  f"reader_accuracy, reader_sensitivity.", highlight=False,
                                  soft_wrap=True)
