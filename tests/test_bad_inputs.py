"""A corpus of bad inputs, each run through the CLI as a careless or hostile user would.

Every case must end with one line that starts with "Error:", a non-zero exit code, no
traceback, and nothing already stored changed: a finished run folder and its record sit in
the `--out` folder of every case, and the reference-feature cache beside it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import isolate
from typer.testing import CliRunner

from medbench.cli import app
from medbench.cli.common import comma_list
from medbench.host.manager import load_host
from medbench.record.spec import RunSpec

from support import TinyDatasetPlugin

BASE = {"--method": "gaussian", "--task": "synthesis", "--dataset": "tiny-phantom",
        "--budget": "tiny", "--device": "cpu", "--out": "{out}"}


def run_argv(args: list[str], base: dict[str, str] = BASE) -> list[str]:
    """A run of the tiny setup with the case's options replacing or adding to it."""
    options, extra = dict(base), []
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag in options:
            options[flag] = value
        else:
            extra += [flag, value]
    return ["run", *[item for pair in options.items() for item in pair], *extra]


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file below `roots`: what "nothing changed" is checked against."""
    found = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                stat = path.stat()
                found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Path:
    """One finished run, made once for this module's many cases."""
    root = tmp_path_factory.mktemp("finished-run")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, shared_cache, root)
        argv = [arg.replace("{out}", str(root / "runs"))
                for arg in run_argv(["--metrics", "fd_randcnn"])]
        result = CliRunner().invoke(app, argv, obj=load_host(False, TinyDatasetPlugin()))
    assert result.exit_code == 0, result.output
    return root / "runs"


@pytest.fixture
def stored(finished_run: Path, tmp_path: Path) -> Path:
    """An output folder that already holds one finished run (a copy, so no case can spoil
    the next)."""
    out = tmp_path / "runs"
    shutil.copytree(finished_run, out)
    return out


def files(tmp: Path) -> dict[str, Path]:
    """Bad files to hand to the CLI."""
    tmp.mkdir()
    made = {}
    made["empty"] = tmp / "empty.pth"
    made["empty"].write_bytes(b"")
    made["random"] = tmp / "random.pth"
    made["random"].write_bytes(os.urandom(4096))
    made["text"] = tmp / "notes.txt"
    made["text"].write_text("not weights")
    made["other-model"] = tmp / "other-model.pth"
    torch.save(torch.nn.Linear(4, 2).state_dict(), made["other-model"])
    made["bad-needs"] = tmp / "bad-needs.pt"
    torch.save({"method": "gaussian", "state_dict": {}, "needs": "labels"}, made["bad-needs"])
    made["folder"] = tmp / "a-folder"
    made["folder"].mkdir()
    made["fifo"] = tmp / "fifo"
    os.mkfifo(made["fifo"])
    made["huge"] = tmp / "huge.json"
    with open(made["huge"], "wb") as out:
        out.truncate(17 * 2**20)
    made["not-json"] = tmp / "bad.json"
    made["not-json"].write_text("{ not json")
    made["json-list"] = tmp / "list.json"
    made["json-list"].write_text("[1, 2, 3]")
    made["plain-file"] = tmp / "plain-file"
    made["plain-file"].write_text("x")
    made["deep"] = tmp / "deep.json"  # the standard parser's RecursionError
    made["deep"].write_text("[" * 200_000)
    made["deep-lines"] = tmp / "deep.jsonl"
    made["deep-lines"].write_text("[" * 200_000 + "\n")
    made["long"] = tmp / ("n" * 300)  # one name longer than any filesystem's 255 bytes
    return made


def record_with(tmp: Path, schema: object = "2.0", **config: object) -> Path:
    """A record of a valid tiny run, with `config` keys changed (None config: null)."""
    spec = RunSpec(method="gaussian", task="synthesis", dataset="tiny-phantom", budget="tiny",
                   device="cpu").to_dict()
    data: dict[str, object] = {"config": None if "config" in config else {**spec, **config}}
    if schema is not None:
        data["schema_version"] = schema
    path = tmp / "record.json"
    path.write_text(json.dumps(data))
    return path


# (id, arguments after the command, fragment of the error line). Arguments may hold
# {name} placeholders for the files above and {out} for the stored output folder.
RUN_CASES: list[tuple[str, list[str], str]] = [
    # names
    ("unknown-method", ["--method", "dcgn"], "Unknown method 'dcgn'"),
    ("empty-method", ["--method", ""], "Unknown method ''"),
    ("markup-method", ["--method", "[red]dcgan"], "Unknown method '[red]dcgan'"),
    ("markup-close", ["--method", "x[/]"], "Unknown method 'x[/]'"),
    ("unicode-method", ["--method", "dçgan☃"], "Unknown method 'dçgan☃'"),
    ("unknown-task", ["--task", "synthesys"], "Unknown task 'synthesys'"),
    ("markup-task", ["--task", "[/]"], "Unknown task '[/]'"),
    ("unknown-dataset", ["--dataset", "phantm"], "Unknown dataset 'phantm'"),
    ("markup-dataset", ["--dataset", "[bold]x[/bold]"], "Unknown dataset '[bold]x[/bold]'"),
    ("empty-dataset", ["--dataset", ""], "--dataset is empty"),
    ("blank-dataset", ["--dataset", "   "], "--dataset is empty"),
    ("unknown-budget", ["--budget", "huge"], "Unknown budget 'huge'"),
    # the low-data arm
    ("train-fraction-zero", ["--train-fraction", "0"], "--train-fraction must be in (0, 1]"),
    ("train-fraction-above-one", ["--train-fraction", "1.5"], "--train-fraction must be in (0, 1]"),
    ("train-fraction-nan", ["--train-fraction", "nan"], "--train-fraction must be in (0, 1]"),
    # methods and datasets that do not fit a task
    ("synthesis-method-on-translation", ["--task", "translation"],
     "Method 'gaussian' cannot run task 'translation'"),
    ("paired-method-on-unpaired-task", ["--method", "pix2pix", "--task",
                                        "translation-unpaired"],
     "unpaired data only, and the method learns from pairs"),
    ("declined-task", ["--method", "cyclegan", "--task", "reconstruction"],
     "Method 'cyclegan' declines task 'reconstruction'"),
    ("dataset-lacks-pairs", ["--method", "identity", "--task", "translation"],
     "Dataset 'tiny-phantom' cannot serve task 'translation': lacks field(s) mr, ct, tissue"),
    ("bad-choice-setting", ["--method", "pix2pix", "--task", "conditional", "--dataset",
                            "retina", "--set", "residual=maybe"],
     "residual must be auto, yes or no"),
    ("bad-identity-mapping", ["--method", "identity", "--task", "reconstruction",
                              "--dataset", "lowdose-ct", "--set", "mapping=curve"],
     "mapping must be auto, copy or histogram"),
    ("anomaly-dataset-without-labels", ["--method", "autoencoder", "--task", "anomaly",
                                        "--dataset", "brain-mrct"],
     "Dataset 'brain-mrct' cannot serve task 'anomaly': lacks field(s) image, label"),
    ("anomaly-method-on-synthesis", ["--method", "anogan"],
     "Method 'anogan' cannot run task 'synthesis'"),
    ("anomaly-search-steps-zero", ["--method", "anogan", "--task", "anomaly", "--set",
                                   "search_steps=0"], "search_steps must lie in [1, 4096]"),
    ("anomaly-encoder-share-one", ["--method", "f-anogan", "--task", "anomaly", "--set",
                                   "encoder_share=1"], "encoder_share must lie in (0, 1)"),
    ("markup-budget", ["--budget", "[/]"], "Unknown budget '[/]'"),
    # --set
    ("set-no-equals", ["--set", "lr"], "expected key=value"),
    ("set-empty-key", ["--set", "=1"], "expected key=value"),
    ("set-unknown-key", ["--set", "lrr=1"], "has no such setting. Its settings: components"),
    ("set-markup-key", ["--set", "[/]=1"], "Bad --set '[/]'"),
    ("set-not-int", ["--set", "components=many"], "expected a value of type int"),
    ("set-float-for-int", ["--set", "components=1.5"], "expected a value of type int"),
    ("set-zero", ["--set", "components=0"], "components must lie in [1, 4096]"),
    ("set-huge", ["--set", "components=1000000000000"], "components must lie in [1, 4096]"),
    ("set-negative", ["--set", "components=-3"], "components must lie in [1, 4096]"),
    ("set-twice", ["--set", "components=8", "--set", "components=9"], "given twice"),
    ("set-nan", ["--method", "dcgan", "--set", "lr=nan"], "expected a finite number"),
    ("set-inf", ["--method", "dcgan", "--set", "lr=inf"], "expected a finite number"),
    ("set-minus-inf", ["--method", "dcgan", "--set", "beta1=-inf"], "expected a finite number"),
    ("set-negative-lr", ["--method", "dcgan", "--set", "lr=-1e-4"], "lr must be positive"),
    ("set-huge-latent", ["--method", "dcgan", "--set", "latent_dim=1000000000000"],
     "latent_dim must lie in [1, 4096]"),
    ("set-huge-batch", ["--method", "dcgan", "--set", "batch_size=1000000"],
     "batch_size must lie in [1, 4096]"),
    ("set-bool-garbage", ["--method", "dcgan", "--set", "width=yes"],
     "expected a value of type int"),
    ("wgan-zero-critic-steps", ["--method", "wgan-gp", "--set", "n_critic=0"],
     "n_critic must lie in [1, 100]"),
    ("wgan-negative-penalty", ["--method", "wgan-gp", "--set", "gp_weight=-10"],
     "gp_weight must lie in [0, 10000]"),
    ("pggan-odd-start", ["--method", "pggan", "--set", "start_size=6"],
     "start_size must be a power of two"),
    ("pggan-unknown-loss", ["--method", "pggan", "--set", "loss=hinge"],
     "loss must be one of wgan-gp, logistic"),
    ("pggan-final-share-one", ["--method", "pggan", "--set", "final_share=1"],
     "final_share must lie in (0, 1)"),
    ("acgan-negative-class-weight", ["--method", "acgan", "--set", "class_weight=-1"],
     "class_weight must lie in [0, 100]"),
    # seeds
    ("seed-negative", ["--seed", "-1"], "Seed must be an integer from 0"),
    ("time-limit-zero", ["--time-limit", "0"], "--time-limit must be a positive number"),
    ("time-limit-nan", ["--time-limit", "nan"], "--time-limit must be a positive number"),
    ("time-limit-inf", ["--time-limit", "inf"], "--time-limit must be a positive number"),
    ("checkpoint-every-negative", ["--checkpoint-every", "-5"],
     "--checkpoint-every must be a number of images >= 0"),
    ("seed-2-32", ["--seed", str(2**32)], "Seed must be an integer from 0"),
    ("seed-300-digits", ["--seed", "9" * 300], "Seed must be an integer from 0"),
    # devices
    ("device-unknown", ["--device", "tpu"], "'tpu' is not a device name"),
    ("device-empty", ["--device", ""], "'' is not a device name"),
    ("device-markup", ["--device", "[red]cpu"], "'[red]cpu' is not a device name"),
    ("device-missing-cuda-index", ["--device", "cuda:99"], "cuda:99"),
    # output folder
    ("out-empty", ["--out", ""], "--out is empty"),
    ("out-is-a-file", ["--out", "{plain-file}"], "Cannot write the run folder"),
    ("out-under-a-file", ["--out", "{plain-file}/runs"], "Cannot write the run folder"),
    ("out-name-too-long", ["--out", "{long}"], "longer than the filesystem allows"),
    # metrics
    ("metrics-unknown", ["--metrics", "fd_rndcnn"], "Did you mean: fd_randcnn"),
    ("metrics-empty", ["--metrics", ""], "--metrics is empty"),
    ("metrics-commas", ["--metrics", ",,"], "--metrics is empty"),
    ("metrics-markup", ["--metrics", "[/]"], "Unknown metric '[/]'"),
    ("metric-option-malformed", ["--metric-option", "fid"], "expected METRIC.KEY=VALUE"),
    ("metric-option-no-key", ["--metric-option", "fid.=1"], "expected METRIC.KEY=VALUE"),
    ("metric-option-unknown-metric", ["--metric-option", "fdd.x=1"], "Unknown metric 'fdd'"),
    ("metric-option-unknown-key", ["--metric-option", "fid.weights=x"],
     "Did you mean: inception_weights"),
    ("metric-option-not-selected", ["--metrics", "fd_randcnn", "--metric-option",
                                    "fid.inception_weights=x"], "is not selected"),
    ("metric-option-twice", ["--metric-option", "fid.inception_weights=a", "--metric-option",
                             "fid.inception_weights=b"], "given twice"),
    ("metric-option-wildcard-typo", ["--metric-option", "*.incepton_weights=x"],
     "no installed metric has an option 'incepton_weights'"),
    ("real-fraction-zero", ["--metrics", "downstream_gain", "--metric-option",
                            "downstream_gain.real_fraction=0"],
     "real_fraction must lie in (0, 1]"),
    ("real-fraction-wildcard-above-one", ["--metrics", "downstream_gain,tstr_balanced_accuracy",
                                          "--metric-option", "*.real_fraction=1.5"],
     "real_fraction must lie in (0, 1]"),
    ("real-fraction-unselected", ["--metric-option", "downstream_gain.real_fraction=0.1"],
     "metric 'downstream_gain' is not selected"),
    ("memorization-quantile-half", ["--metric-option", "memorization.quantile=0.5"],
     "quantile must lie in (0, 0.5)"),
    # Inception weights, all checked before anything runs
    ("weights-missing", ["--inception-weights", "/nonexistent.pth"], "is not a file"),
    ("weights-folder", ["--inception-weights", "{folder}"], "is not a file"),
    ("weights-empty", ["--inception-weights", "{empty}"], "is empty"),
    ("weights-random-bytes", ["--inception-weights", "{random}"], "does not load"),
    ("weights-text", ["--inception-weights", "{text}"], "does not load"),
    ("weights-other-model", ["--inception-weights", "{other-model}"],
     "is not pytorch-fid's InceptionV3"),
    ("weights-by-option", ["--metric-option", "fid.inception_weights={random}"],
     "does not load"),
    ("weights-name-too-long", ["--inception-weights", "{long}.pth"],
     "longer than the filesystem allows"),
]

RERUN_CASES: list[tuple[str, str, str]] = [
    ("missing", "/nonexistent/record.json", "is not a regular file"),
    ("folder-without-record", "{folder}", "is not a regular file"),
    ("dev-zero", "/dev/zero", "is not a regular file"),
    ("fifo", "{fifo}", "is not a regular file"),
    ("huge", "{huge}", "larger than 16 MiB"),
    ("not-json", "{not-json}", "Cannot read a run configuration"),
    ("json-list", "{json-list}", "is not a medbench result record"),
    ("binary", "{random}", "Cannot read a run configuration"),
    ("name-too-long", "{long}.json", "longer than the filesystem allows"),
    ("deeply-nested", "{deep}", "nested too deeply"),
]

RECORD_CASES: list[tuple[str, dict, str]] = [
    ("schema-99", {"schema": "99"}, "schema_version '99'"),
    ("schema-missing", {"schema": None}, "is not a medbench result record"),
    ("config-null", {"config": None}, "config must be an object"),
    ("method-null", {"method": None}, "config.method must be a non-empty string"),
    ("method-number", {"method": 3}, "config.method must be a non-empty string"),
    ("task-list", {"task": ["synthesis"]}, "config.task must be a non-empty string"),
    ("dataset-number", {"dataset": 5}, "config.dataset must be a non-empty string"),
    ("budget-empty", {"budget": ""}, "config.budget must be a non-empty string"),
    ("seed-float", {"seed": 1.9}, "config.seed must be an integer"),
    ("train-fraction-zero", {"train_fraction": 0}, "config.train_fraction must be a number"),
    ("train-fraction-string", {"train_fraction": "0.5"},
     "config.train_fraction must be a number"),
    ("seed-string", {"seed": "0"}, "config.seed must be an integer"),
    ("time-limit-text", {"time_limit": "soon"}, "config.time_limit must be a positive number"),
    ("time-limit-negative", {"time_limit": -3}, "config.time_limit must be a positive number"),
    ("seed-negative", {"seed": -4}, "config.seed must be an integer"),
    ("checkpoint-every-text", {"checkpoint_every": "often"},
     "config.checkpoint_every must be a whole number"),
    ("seed-huge", {"seed": 2**70}, "config.seed must be an integer"),
    ("overrides-list", {"overrides": ["lr=1"]}, "config.overrides must map strings"),
    ("overrides-number", {"overrides": {"components": 8}}, "config.overrides must map strings"),
    ("metrics-string", {"metrics": "fid"}, "config.metrics must be a list"),
    ("weights-number", {"metric_options": {"fid": {"inception_weights": 5}}},
     "config.metric_options"),
    ("unknown-method", {"method": "dcgn"}, "Unknown method 'dcgn'"),
    ("unknown-budget", {"budget": "huge"}, "Unknown budget 'huge'"),
    ("bad-override", {"overrides": {"components": "0"}}, "components must lie in [1, 4096]"),
    ("checkpoint-missing", {"checkpoint": "/nonexistent/checkpoint.pt"}, "does not exist"),
    ("checkpoint-random", {"checkpoint": "{random}"}, "does not load"),
    ("checkpoint-other", {"checkpoint": "{other-model}"}, "is not a checkpoint of method"),
    ("checkpoint-malformed-needs", {"checkpoint": "{bad-needs}"}, "malformed 'needs' entry"),
]


def assert_rejected(result, fragment: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert fragment in errors[0], errors[0]


@pytest.fixture
def check(runner: CliRunner, host, stored: Path, shared_cache: Path,
          tmp_path: Path) -> Callable[[list[str], str], None]:
    made = files(tmp_path / "bad")

    def fill(text: str) -> str:
        for name, path in made.items():
            text = text.replace("{" + name + "}", str(path))
        text = text.replace("{run}", str(next(stored.iterdir())))
        return text.replace("{out}", str(stored))

    def run_case(args: list[str], fragment: str) -> None:
        before = snapshot(stored, shared_cache / "reference-features")
        result = runner.invoke(app, [fill(arg) for arg in args], obj=host)
        assert_rejected(result, fragment)
        assert snapshot(stored, shared_cache / "reference-features") == before

    run_case.fill = fill  # type: ignore[attr-defined]
    return run_case


@pytest.mark.parametrize("args,fragment", [case[1:] for case in RUN_CASES],
                         ids=[case[0] for case in RUN_CASES])
def test_bad_run_arguments(check, args: list[str], fragment: str) -> None:
    check(run_argv(args), fragment)


@pytest.mark.parametrize("target,fragment", [case[1:] for case in RERUN_CASES],
                         ids=[case[0] for case in RERUN_CASES])
def test_bad_records_to_rerun(check, target: str, fragment: str) -> None:
    check(["rerun", target, "--out", "{out}"], fragment)


@pytest.mark.parametrize("change,fragment", [case[1:] for case in RECORD_CASES],
                         ids=[case[0] for case in RECORD_CASES])
def test_malformed_record_configs(check, tmp_path: Path, change: dict,
                                  fragment: str) -> None:
    change = {key: check.fill(value) if isinstance(value, str) else value
              for key, value in change.items()}
    path = record_with(tmp_path, change.pop("schema", "2.0"), **change)
    check(["rerun", str(path), "--out", "{out}"], fragment)


@pytest.mark.parametrize("args,fragment", [
    (["evaluate", "/nonexistent"], "is not a regular file"),
    (["evaluate", "{folder}"], "is not a regular file"),
    (["datasets", "info", "phantm"], "Unknown dataset 'phantm'"),
    (["datasets", "info", "[/]"], "Unknown dataset '[/]'"),
    (["datasets", "manifest", "nope"], "Unknown dataset 'nope'"),
    (["card", "dcgn"], "Unknown method 'dcgn'"),
    (["card", "[red]x"], "Unknown method '[red]x'"),
    (["evaluate", "{run}", "--device", "", "--out", "{out}"], "--device is empty"),
    (["evaluate", "{run}", "--metrics", "", "--out", "{out}"], "--metrics is empty"),
    (["rerun", "{run}", "--out", ""], "--out is empty"),
], ids=["evaluate-missing", "evaluate-folder", "info-unknown", "info-markup",
        "manifest-unknown", "card-unknown", "card-markup", "evaluate-empty-device",
        "evaluate-empty-metrics", "rerun-empty-out"])
def test_bad_arguments_to_other_commands(check, args: list[str], fragment: str) -> None:
    check(args, fragment)


# Paths, files and lists that once escaped as tracebacks, hung, or passed unnoticed.
OTHER_CASES: list[tuple[str, list[str], str]] = [
    ("rerun-out-name-too-long", ["rerun", "{run}", "--out", "{long}"],
     "longer than the filesystem allows"),
    ("evaluate-out-name-too-long", ["evaluate", "{run}", "--out", "{long}"],
     "longer than the filesystem allows"),
    ("evaluate-name-too-long", ["evaluate", "{long}"], "longer than the filesystem allows"),
    ("evaluate-deeply-nested", ["evaluate", "{deep}"], "nested too deeply"),
    ("import-name-too-long", ["results", "import", "{long}.jsonl"],
     "longer than the filesystem allows"),
    ("import-deeply-nested", ["results", "import", "{deep-lines}"], "nested too deeply"),
    ("import-fifo", ["results", "import", "{fifo}"], "is not a regular file"),
    ("leaderboard-deeply-nested", ["leaderboard", "--records", "{deep-lines}"],
     "nested too deeply"),
    ("leaderboard-name-too-long", ["leaderboard", "--records", "{long}.jsonl"],
     "longer than the filesystem allows"),
    ("sweep-file-dev-zero", ["sweep", "--file", "/dev/zero", "--out", "{out}"],
     "is not a regular file"),
    ("sweep-file-fifo", ["sweep", "--file", "{fifo}", "--out", "{out}"],
     "is not a regular file"),
    ("sweep-file-deeply-nested", ["sweep", "--file", "{deep}", "--out", "{out}"],
     "Sweep file"),
    ("sweep-workers-100000", ["sweep", "--methods", "gaussian", "--tasks", "synthesis",
                              "--workers", "100000", "--out", "{out}"],
     "--workers 100000 is more than this machine's"),
    ("sweep-seeds-empty-item", ["sweep", "--methods", "gaussian", "--tasks", "synthesis",
                                "--seeds", "0,,1", "--out", "{out}"], "has an empty item"),
    ("run-metrics-empty-item", run_argv(["--metrics", "fd_randcnn,,kid_randcnn"]),
     "has an empty item"),
]


@pytest.mark.parametrize("args,fragment", [case[1:] for case in OTHER_CASES],
                         ids=[case[0] for case in OTHER_CASES])
def test_paths_files_and_lists_that_once_escaped(check, args: list[str],
                                                 fragment: str) -> None:
    check(args, fragment)


def test_a_record_whose_split_hash_is_forged_is_not_rerun(check, stored: Path,
                                                          tmp_path: Path) -> None:
    [folder] = stored.iterdir()
    record = json.loads((folder / "record.json").read_text())
    split = record["dataset"]["splits"]["test"]
    split["sha256"] = "0" * 64
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record))
    check(["rerun", str(forged), "--out", "{out}"], "does not describe the data here")


def test_a_name_given_twice_is_used_once_with_a_notice(runner, host, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    argv = [arg.replace("{out}", str(out))
            for arg in run_argv(["--metrics", "fd_randcnn,fd_randcnn"])]
    result = runner.invoke(app, argv, obj=host, terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "--metrics names 'fd_randcnn' 2 times; it is used once" in result.output
    [folder] = out.iterdir()
    record = json.loads((folder / "record.json").read_text())
    assert record["config"]["metrics"] == ["fd_randcnn"]  # and so the run key is unchanged


def test_evaluate_of_a_run_without_checkpoint(check, stored: Path) -> None:
    [folder] = stored.iterdir()
    (folder / "checkpoint.pt").rename(folder.parent / "moved-checkpoint.pt")
    try:
        check(["evaluate", str(folder), "--out", "{out}"], "has no checkpoint.pt")
    finally:
        (folder.parent / "moved-checkpoint.pt").rename(folder / "checkpoint.pt")


@pytest.mark.parametrize("variable,value,fragment", [
    ("MEDBENCH_CACHE", "{plain-file}", "is a file"),
    ("MEDBENCH_DEVICE", "tpu", "'tpu' is not a device name"),
    ("MEDBENCH_INCEPTION_WEIGHTS", "{random}", "does not load"),
    ("MEDBENCH_OUT", "{long}", "longer than the filesystem allows"),
], ids=["cache-is-a-file", "device", "weights", "out-name-too-long"])
def test_bad_environment(check, monkeypatch: pytest.MonkeyPatch, variable: str,
                         value: str, fragment: str) -> None:
    monkeypatch.setenv(variable, check.fill(value))
    left_out = ("--device", "--out") if variable == "MEDBENCH_OUT" else ("--device",)
    base = {flag: value for flag, value in BASE.items() if flag not in left_out}
    check(run_argv([], base), fragment)


def test_text_in_brackets_in_a_valid_output_path_is_printed_as_typed(
        runner, host, tmp_path: Path) -> None:
    out = tmp_path / "we[/]ird [red]runs"
    argv = [arg.replace("{out}", str(out)) for arg in run_argv([])]
    result = runner.invoke(app, argv, obj=host, terminal_width=400)
    assert result.exit_code == 0, result.output
    [folder] = out.iterdir()
    assert f"Record: {folder / 'record.json'}" in result.output


def test_the_corpus_is_large() -> None:
    cases = len(RUN_CASES) + len(RERUN_CASES) + len(RECORD_CASES) + len(OTHER_CASES) + 10 \
        + 1 + 4 + 1
    assert cases >= 90, cases


def test_a_format_named_twice_is_written_once_with_a_notice(capsys) -> None:
    assert comma_list("markdown, csv,markdown", "--format") == ["markdown", "csv"]
    assert "--format names 'markdown' 2 times; it is used once" in capsys.readouterr().err
