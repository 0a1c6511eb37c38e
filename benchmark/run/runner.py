"""One run, start to finish: resolve, build data, train, checkpoint, predict, score, record.

The runner knows no particular task. The task decides what `fit` receives and what the
method is asked at evaluation; the harness owns everything else. Every user error is raised
by `plan_run`, before any data is built or any training starts, and once a run folder exists
a record is always written into it, whatever happens after.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from medbench.api.data import Split
from medbench.api.dataset import DatasetSpec
from medbench.api.errors import (
    ConfigError,
    DatasetIntegrityError,
    PluginError,
    UnsupportedError,
)
from medbench.api.method import Method
from medbench.api.progress import Progress, SilentProgress
from medbench.api.seeding import derived_generator, seed_everything
from medbench.api.sources import FileDataset
from medbench.api.task import EvalContext, EvalSplits, Task
from medbench.api.training import PRECISIONS, Diverged, TrainContext, stalled_losses
from medbench.host.manager import Registries
from medbench.host.registry import Origin
from medbench.record.schema import (
    SCHEMA_VERSION,
    MethodInfo,
    ResultRecord,
    RunConfig,
    SplitInfo,
    Status,
    TaskInfo,
    Timings,
    Training,
)
from medbench.record.spec import RunSpec
from medbench.run import artifacts
from medbench.run.budgets import Budget, get_budget
from medbench.run.data import dataset_info, load_dataset, to_split
from medbench.run.datafiles import ChecksumCache, LocatedFiles, data_dirs, locate, require
from medbench.run.device import resolve_device
from medbench.run.feature_cache import ReferenceFeatureCache
from medbench.run.liveness import current_process
from medbench.run.memory import PeakMemory, peak_memory
from medbench.run.options import as_plain, build_config
from medbench.run.paths import cache_root
from medbench.run.provenance import environment
from medbench.run.resume import TrainingCheckpoints, default_interval, find_resumable
from medbench.run.scoring import SelectedMetric, failed_metrics, score, select_metrics
from medbench.run.weights import fetch_metric_weights
from medbench.store import ResultStore, StoreError

PREVIEW_IMAGES = 64
MAX_SEED = 2**32 - 1  # NumPy's legacy seeding, which seed_everything also sets, takes 32 bits


@dataclass
class RunPlan:
    """A spec checked against the registries: every object resolved and compatible."""

    spec: RunSpec  # with the dataset resolved
    task: Task
    method_cls: type[Method]
    method_origin: Origin
    dataset: DatasetSpec
    budget: Budget
    config: Any  # the method's built Config
    metrics: list[SelectedMetric]
    device: torch.device
    out_dir: Path
    cache_dir: Path
    run_key: str = ""  # run_key(): the experiment's identity, for sweeps to skip done runs
    files: LocatedFiles | None = None  # a file-backed dataset's files, found and checked
    data_dir: Path | None = None  # --data-dir, searched first for a dataset's files
    offline: bool = False  # --offline: fetch no weights (MEDBENCH_OFFLINE=1 does the same)
    # The results database that receives the record; None: ResultStore's default
    # ($MEDBENCH_RESULTS_DB, else the user's data folder).
    results_db: Path | None = None


@dataclass
class RunOutcome:
    record: ResultRecord
    folder: Path
    notices: list[str]


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption so that a run ends like it does on Ctrl-C."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run; its record says so. Carries the outcome."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__(outcome.record.status.reason)
        self.outcome = outcome


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a run executes in the main thread, SIGTERM interrupts it like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class TimeLimitExceeded(BaseException):
    """The run took longer than its --time-limit: recorded as failed, never a hang. A
    BaseException, as KeyboardInterrupt is, so a plugin's `except Exception` cannot swallow
    it."""


@contextmanager
def _time_limit(seconds: float | None, notices: list[str]) -> Iterator[None]:
    """Raise TimeLimitExceeded in the run after `seconds` (a real-time timer, SIGALRM), so a
    method that hangs or crawls fails alone and a sweep goes on. The timer fires between
    Python bytecodes, so one long C call (a huge convolution) finishes first."""
    if seconds is None:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        notices.append(f"--time-limit {seconds:g} is not enforced here: the run is not in "
                       f"its process's main thread")
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitExceeded(f"exceeded its time limit of {seconds:g} s (--time-limit)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def supported_tasks(method_cls: type[Method], tasks: list[Task]) -> list[str]:
    """The tasks whose protocol `method_cls` implements and that it does not decline."""
    return [task.name for task in tasks
            if issubclass(method_cls, task.method_protocol) and task.name not in
            method_cls.declines and task.method_problem(method_cls) is None]


def plan_run(spec: RunSpec, registries: Registries, out_dir: Path = Path("runs"),
             cache_dir: Path | None = None, data_dir: Path | None = None,
             offline: bool = False, results_db: Path | None = None) -> RunPlan:
    """Resolve and validate a spec; raises a MedbenchError on the first problem.

    A file-backed dataset's files are found (`data_dir` first, see ``data_dirs``) and
    checked against their checksums here, so a missing or damaged file stops the run before
    it has a folder.
    """
    task = registries.tasks.get(spec.task)
    method_entry = registries.methods.entry(spec.method)
    method_cls = method_entry.value
    if not issubclass(method_cls, task.method_protocol):
        can = supported_tasks(method_cls, list(registries.tasks))
        raise UnsupportedError(
            f"Method '{method_cls.name}' cannot run task '{task.name}': the task needs a "
            f"{task.method_protocol.__name__}. It can run: {', '.join(can) or 'no task'}.")
    if task.name in method_cls.declines:
        raise UnsupportedError(f"Method '{method_cls.name}' declines task '{task.name}': "
                               f"{method_cls.declines[task.name]}.")
    problem = task.method_problem(method_cls)
    if problem:
        can = supported_tasks(method_cls, list(registries.tasks))
        raise UnsupportedError(f"Method '{method_cls.name}' cannot run task '{task.name}': "
                               f"{problem}. It can run: {', '.join(can) or 'no task'}.")
    if spec.dataset is not None and not spec.dataset.strip():
        raise ConfigError("--dataset is empty; name a dataset or leave the option out for "
                          f"task '{task.name}''s default, {task.default_dataset}.")
    dataset = registries.datasets.get(spec.dataset or task.default_dataset)
    problem = task.dataset_problem(dataset)
    if problem:
        suitable = [d.name for d in registries.datasets if task.dataset_problem(d) is None]
        raise UnsupportedError(
            f"Dataset '{dataset.name}' cannot serve task '{task.name}': {problem}. Datasets "
            f"that can: {', '.join(suitable) or 'none'}.")
    if not 0 <= spec.seed <= MAX_SEED:
        raise ConfigError(f"Seed must be an integer from 0 to {MAX_SEED}, got {spec.seed}.")
    if spec.precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got "
                          f"'{spec.precision}'.")
    if spec.precision not in method_cls.precisions:
        raise UnsupportedError(
            f"Method '{method_cls.name}' trains at precision "
            f"{', '.join(method_cls.precisions)} only, not {spec.precision}: it has not opted "
            f"in (docs/writing-a-method.md, 'Precision').")
    if spec.compile and not method_cls.compiles:
        raise UnsupportedError(
            f"Method '{method_cls.name}' cannot train with --compile: it has not opted in "
            f"(docs/writing-a-method.md, 'Compiling').")
    if spec.checkpoint_every is not None and spec.checkpoint_every < 0:
        raise ConfigError(f"--checkpoint-every must be a number of images >= 0 (0: no "
                          f"training checkpoints), got {spec.checkpoint_every}.")
    if not (math.isfinite(spec.train_fraction) and 0 < spec.train_fraction <= 1):
        raise ConfigError(f"--train-fraction must be in (0, 1], e.g. 0.1 for a tenth of the "
                          f"train split; got {spec.train_fraction}.")
    cache_dir = cache_dir or cache_root()
    if cache_dir.exists() and not cache_dir.is_dir():
        raise ConfigError(f"The cache folder {cache_dir} is a file. Point MEDBENCH_CACHE at a "
                          f"folder (or unset it for ~/.cache/medbench).")
    if spec.checkpoint is not None:
        _check_checkpoint(Path(spec.checkpoint), method_cls.name)
    files = None
    if isinstance(dataset, FileDataset):
        files = locate(dataset, data_dirs(data_dir),
                       ChecksumCache(cache_dir / "file-checksums.json"))
        require(dataset, files, spec.allow_unverified)
    plan = RunPlan(
        spec=dataclasses.replace(spec, dataset=dataset.name),
        task=task,
        method_cls=method_cls,
        method_origin=method_entry.origin,
        dataset=dataset,
        budget=get_budget(spec.budget, task),
        config=build_config(method_cls.Config,
                            {**method_cls.budget_defaults.get(spec.budget, {}),
                             **spec.overrides}, f"method '{method_cls.name}'"),
        metrics=select_metrics(task, registries.metrics, spec.metrics, spec.metric_options),
        device=resolve_device(spec.device),
        out_dir=out_dir,
        cache_dir=cache_dir,
        files=files,
        data_dir=data_dir,
        offline=offline,
        results_db=results_db,
    )
    origins = [method_entry.origin, registries.tasks.entry(task.name).origin,
               registries.datasets.entry(dataset.name).origin]
    return dataclasses.replace(plan, run_key=run_key(plan, origins))


def run_key(plan: RunPlan, origins: list[Origin]) -> str:
    """A hash of what makes two runs the same experiment: the resolved method config, task,
    dataset and budget (with their versions), seed, train fraction, metrics and their
    options, a checkpoint scored, and the versions of the plugins that ship the method,
    task and dataset. Not the device or the output folder."""
    spec = plan.spec
    identity = {
        "method": plan.method_cls.name, "method_config": as_plain(plan.config),
        "task": [plan.task.name, plan.task.version],
        "dataset": [plan.dataset.name, plan.dataset.version],
        "budget": plan.budget.to_dict(), "seed": spec.seed,
        "train_fraction": spec.train_fraction, "checkpoint": spec.checkpoint,
        # Only where it is not the default, so the keys of runs before --precision hold.
        **({"precision": spec.precision} if spec.precision != "32" else {}),
        **({"compile": True} if spec.compile else {}),
        "metrics": {selected.metric.name: as_plain(selected.options)
                    for selected in plan.metrics},
        "plugins": [[origin.distribution or origin.plugin, origin.version]
                    for origin in origins],
    }
    if plan.files is not None:  # the same name and version on other files is not the same
        identity["files"] = plan.files.key()
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _run_id(plan: RunPlan, started: datetime) -> str:
    return f"{started:%Y%m%d-%H%M%S}_{_run_name(plan)}"


def _run_name(plan: RunPlan) -> str:
    """The run id after its start time: method, task, dataset, budget (or eval), seed."""
    kind = "eval" if plan.spec.checkpoint else plan.budget.name
    return f"{plan.method_cls.name}_{plan.task.name}_{plan.dataset.name}_{kind}_s{plan.spec.seed}"


@dataclass
class ResumePoint:
    """Where a run carries on: the folder of its killed predecessor and the training state
    of that run's last good checkpoint."""

    folder: Path
    created_at: datetime
    checkpoint: dict[str, Any]  # resume.TrainingCheckpoints format: state, train_seconds


def resume_point(plan: RunPlan, notices: list[str]) -> ResumePoint | None:
    """The unfinished earlier run of this experiment in `plan.out_dir` to carry on, if its
    method can resume and it left a checkpoint that loads; a notice says why not otherwise.
    """
    if plan.spec.checkpoint is not None:
        return None
    # Only folders named like this run's are read: a sweep's --out may hold thousands.
    previous = find_resumable(plan.out_dir, plan.run_key, f"*_{_run_name(plan)}*")
    if previous is None:
        return None
    name = previous.folder.name
    if not plan.method_cls.resumable:
        notices.append(f"Run {name} of this experiment stopped unfinished, and method "
                       f"'{plan.method_cls.name}' cannot resume (it tracks no training "
                       f"state): this run starts from zero.")
        return None
    checkpoint = TrainingCheckpoints(previous.folder, plan.run_key).latest(notices)
    if checkpoint is None:
        notices.append(f"Run {name} of this experiment stopped before a training checkpoint "
                       f"that loads: this run starts from zero.")
        return None
    try:
        created = datetime.fromisoformat(str(previous.record.created_at))
    except ValueError:
        return None
    return ResumePoint(previous.folder, created, checkpoint)


def execute(plan: RunPlan, progress: Progress | None = None,
            announce: Callable[[str], None] | None = None, store: bool = True) -> RunOutcome:
    """Carry out a validated plan; always leaves a record in the run folder.

    The record says `running` (with the owning process) from the moment the folder exists
    and is rewritten atomically as the run goes. Ctrl-C or SIGTERM record the run as
    interrupted and raise RunInterrupted. An unfinished earlier run of the same experiment
    in the same folder is carried on from its last checkpoint (`resume_point`); `announce`
    hears that, or why not, before anything else happens. `store=False` leaves the results
    database to the caller (a Ray sweep's driver stores what its workers return).
    """
    progress = progress or SilentProgress()
    notices: list[str] = []
    resume = resume_point(plan, notices)
    if resume is not None:
        state = resume.checkpoint["state"]
        notices.append(f"Resuming run {resume.folder.name} from its checkpoint at "
                       f"{state['images_seen']:,} of {plan.budget.train_images:,} training "
                       f"images.")
    for notice in notices if announce else ():
        announce(notice)
    started = resume.created_at if resume else datetime.now(timezone.utc)
    clock = time.perf_counter()
    folder = resume.folder if resume else artifacts.make_run_folder(plan.out_dir,
                                                                   _run_id(plan, started))
    record = _initial_record(plan, folder.name, started)
    record.write(folder)
    interrupted = False
    try:
        with _sigterm_interrupts(), _time_limit(plan.spec.time_limit, notices):
            _run_phases(plan, progress, folder, record, notices, resume)
        if record.status.state == "running":
            record.status = Status("ok")
    except KeyboardInterrupt as stop:
        interrupted = True
        reason = str(stop) if isinstance(stop, Terminated) else "interrupted by the user"
        record.status = Status("interrupted", reason, _step(record))
    except (Exception, TimeLimitExceeded) as exc:  # any failure is recorded, never lost
        record.artifacts["error_log"] = artifacts.save_error_log(folder, traceback.format_exc())
        record.status = Status("failed", failure_reason(exc, plan), _step(record))
    finally:
        record.timings.total_seconds = round(time.perf_counter() - clock, 3)
        record.write(folder)
        if store:
            store_record(record, notices, plan.results_db)
    outcome = RunOutcome(record, folder, notices)
    if interrupted:
        raise RunInterrupted(outcome)
    return outcome


def failure_reason(exc: BaseException, plan: RunPlan) -> str:
    """One line for the record and the screen; the traceback is in error.log."""
    if isinstance(exc, torch.OutOfMemoryError):
        batch = "--set batch_size=N with a smaller N, " if hasattr(plan.config, "batch_size") \
            else ""
        return (f"out of memory on {plan.device} ({str(exc).splitlines()[0][:160]}); try "
                f"{batch}another device, or a machine with more memory")
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def store_record(record: ResultRecord, notices: list[str], db: Path | None = None) -> None:
    """The finished record into the results database too; a database that cannot take it
    costs a notice, never the run (its folder holds the complete record)."""
    try:
        with ResultStore(db) as store:
            store.put(json.loads(record.to_json()))
    except StoreError as exc:
        notices.append(f"{str(exc).rstrip('.')}. The run's record in its folder is complete; "
                       f"`medbench results import` adds it later.")


def _step(record: ResultRecord) -> int | None:
    return record.training.steps if record.training else None


def _run_phases(plan: RunPlan, progress: Progress, folder: Path, record: ResultRecord,
                notices: list[str], resume: ResumePoint | None = None) -> None:
    budget, device, seed = plan.budget, plan.device, plan.spec.seed

    tick = time.perf_counter()
    arrays, split_infos = load_dataset(plan.dataset, plan.cache_dir / "datasets", notices,
                                       plan.files)
    record.dataset = dataset_info(plan.dataset, split_infos, budget.image_size, plan.files)
    # The test split leaves the process until the task reads it (after training, and after
    # the method has answered): nothing a plugin could walk to (the garbage collector
    # included) holds it meanwhile. It is loaded again, and verified again (_test_split).
    splits = {name: to_split(name, split_arrays, plan.dataset, budget.image_size)
              for name, split_arrays in arrays.items() if name != "test"}
    del arrays
    record.timings.data_seconds = round(time.perf_counter() - tick, 3)
    record.write(folder)
    # Before training: a missing weights file costs a notice and its metrics, not a model.
    notices.extend(fetch_metric_weights(plan.metrics, progress, plan.offline))

    # Seeded after the data is built: a dataset that draws random numbers only when its
    # cache is empty cannot change the method's initial weights.
    seed_everything(seed)
    learnable = splits["train"]
    if plan.spec.train_fraction < 1:
        learnable = fraction_of(learnable, plan.spec.train_fraction,
                                derived_generator(seed, "train-fraction"))
    train, val = plan.task.fit_data(learnable, splits["val"],
                                    derived_generator(seed, "fit-data"), plan.method_cls)
    checkpoint = None
    if plan.spec.checkpoint is not None:
        checkpoint = torch.load(Path(plan.spec.checkpoint), map_location=device,
                                weights_only=True)
        # The checkpoint's shape decides: a per-class checkpoint needs the per-class method.
        needs = frozenset(checkpoint.get("needs", []))
    else:
        needs = frozenset(name for chosen in plan.metrics for name in chosen.metric.needs)
    method = plan.task.prepare_method(plan.method_cls, plan.config, train.info, device, needs)
    record.method.adaptation = method.adaptation
    record.write(folder)

    if checkpoint is not None:
        method.load_state_dict(checkpoint["state_dict"])
    else:
        _train(plan, method, train, val, progress, folder, record, notices,
               resume.checkpoint if resume else None)
        if record.status.state == "diverged":
            return  # no metrics from a diverged model: they would look like a result
        record.artifacts["checkpoint"] = artifacts.save_checkpoint(folder, {
            "method": plan.method_cls.name, "method_config": record.config.method_config,
            "needs": sorted(needs), "adaptation": method.adaptation,
            "state_dict": method.state_dict(),
        })
        record.write(folder)

    loading: list[float] = []

    def test_split() -> Split:  # read by the task when it needs the test split, not before
        start = time.perf_counter()
        split = _test_split(plan, split_infos, notices)
        loading.append(time.perf_counter() - start)
        return split

    tick = time.perf_counter()
    cache = ReferenceFeatureCache(plan.cache_dir / "reference-features")
    context = eval_context(plan, split_infos, cache, progress, budget.eval_samples)
    predictions = plan.task.evaluate(method, EvalSplits(splits["train"], splits["val"],
                                                        test_split), context)
    record.timings.data_seconds = round(record.timings.data_seconds + sum(loading), 3)
    if not isinstance(predictions.inputs, plan.task.inputs):
        raise PluginError(f"task '{plan.task.name}' returned {type(predictions.inputs).__name__}"
                          f" inputs, but declares {plan.task.inputs.__name__}")
    record.timings.predict_seconds = predictions.predict_seconds
    record.metrics, found = score(plan.metrics, predictions.inputs)
    notices.extend(cache.notices + found)
    # The test split's loading is data time, not evaluation time.
    record.timings.evaluate_seconds = round(time.perf_counter() - tick - sum(loading), 3)
    if predictions.preview is not None:
        record.artifacts["samples"] = artifacts.save_sample_grid(
            folder, predictions.preview[:PREVIEW_IMAGES])
    if predictions.panel is not None:
        try:
            png = artifacts.panel_png(predictions.panel)
        except PluginError as exc:  # a bad figure never costs the run its scores
            notices.append(f"No panel kept: {exc}")
        else:
            record.artifacts["panel"] = artifacts.save_png(folder, artifacts.PANEL, png.data)
            record.images["panel"] = png.describe(predictions.panel.caption)
    failed = failed_metrics(record.metrics)
    if failed:  # the run stands: the table leaves out only these metrics' values
        notices.append(f"metric(s) failed: {', '.join(failed)}; each is recorded as failed "
                       f"with its reason, and the run's other metrics stand")


def eval_context(plan: RunPlan, split_infos: dict[str, SplitInfo],
                 cache: ReferenceFeatureCache, progress: Progress,
                 num_samples: int) -> EvalContext:
    """What the task's evaluation and the metrics see of the run."""
    size = plan.budget.image_size
    return EvalContext(
        device=plan.device, seed=plan.spec.seed, num_samples=num_samples,
        data=plan.dataset.info(size),
        split_keys={name: f"{plan.dataset.name}-{plan.dataset.version}-{info.sha256[:16]}-"
                          f"{size}px" for name, info in split_infos.items()},
        features=cache,
        progress=progress,
    )


def _test_split(plan: RunPlan, loaded: dict[str, SplitInfo], notices: list[str]) -> Split:
    """The test split, loaded after training and verified again: the same content as at the
    start (a cache changed meanwhile, by anything, is rebuilt or refused, never scored)."""
    arrays, infos = load_dataset(plan.dataset, plan.cache_dir / "datasets", notices,
                                 plan.files, splits=("test",))
    if infos["test"].sha256 != loaded["test"].sha256:
        raise DatasetIntegrityError(
            f"Dataset '{plan.dataset.name}': the test split changed while the method trained "
            f"(SHA-256 {loaded['test'].sha256[:12]}… then {infos['test'].sha256[:12]}…)")
    return to_split("test", arrays["test"], plan.dataset, plan.budget.image_size)


def fraction_of(split: Split, fraction: float, generator: torch.Generator) -> Split:
    """A seeded subset of `split` of about `fraction` of its samples, at least one: per
    class (largest remainders) when the split has labels, so no class vanishes by chance."""
    if "label" not in split:
        keep = max(1, round(fraction * len(split)))
        return split.subset(torch.randperm(len(split), generator=generator)[:keep].sort().values)
    labels = split["label"]
    chosen = []
    for value in labels.unique(sorted=True):
        members = torch.nonzero(labels == value).flatten()
        keep = max(1, round(fraction * len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:keep]])
    return split.subset(torch.cat(chosen).sort().values)


def resolution_warnings(plan: RunPlan) -> list[str]:
    """A budget larger than the dataset's images trains on upsampled pixels: the record
    says so, since the images then hold no more detail than at the dataset's own size."""
    native, size = plan.dataset.native_size, plan.budget.image_size
    if size <= native:
        return []
    return [f"images upsampled from the dataset's {native} px to the budget's {size} px; they "
            f"hold no detail beyond {native} px"]


def _train(plan: RunPlan, method: Method, train: Split, val: Split, progress: Progress,
           folder: Path, record: ResultRecord, notices: list[str],
           resume: dict[str, Any] | None = None) -> None:
    budget = plan.budget
    tick = time.perf_counter()
    before = float(resume["train_seconds"]) if resume else 0.0  # the earlier attempts' share
    every = (plan.spec.checkpoint_every if plan.spec.checkpoint_every is not None
             else default_interval(budget.train_images))
    checkpoints = TrainingCheckpoints(folder, plan.run_key)
    with progress.bar(f"train {plan.method_cls.name}", total=budget.train_images) as bar:
        context = TrainContext(budget.train_images, plan.device,
                               derived_generator(plan.spec.seed, "batches"), bar,
                               precision=plan.spec.precision, compile=plan.spec.compile)
        if plan.method_cls.resumable and every > 0:
            context.checkpoint_to(lambda state: checkpoints.save(
                state, before + time.perf_counter() - tick), every)
        if resume is not None:
            context.resume_from(resume["state"])
        peak = PeakMemory()
        try:
            with peak_memory(plan.device) as peak:
                method.fit(train, val, context)
                context.flush()  # the last losses logged, read back and checked
            if context.resume_pending:
                raise RuntimeError("fit never reached the batch its checkpoint was taken at; "
                                   "the method's training loop changed since")
        except Diverged as diverged:
            record.status = Status("diverged", str(diverged), diverged.step)
        finally:
            record.training = Training(
                peak_memory_bytes=peak.bytes, peak_memory_kind=peak.kind,
                images_budget=budget.train_images, images_seen=context.images_seen,
                steps=context.step,
                final_losses=dict(context.last_losses),
                fit_data={split.name: {"size": len(split), "fields": list(split.fields)}
                          for split in (train, val)},
                warnings=(resolution_warnings(plan) + context.warnings
                          + stalled_losses(context.losses.rows)),
                parts=context.parts,
                loss_curve=artifacts.thin_losses(context.losses.rows),
                checkpoint_every=every if plan.method_cls.resumable and every > 0 else None,
                checkpoints_written=checkpoints.written,
                resumed_from_images=resume["state"]["images_seen"] if resume else None,
                compiled_modules=context.compiled_modules,
            )
            losses = artifacts.save_losses(folder, context.losses.rows)
            if losses:
                record.artifacts["losses"] = losses
    # Training is over (finished or diverged): its checkpoints have served.
    checkpoints.clear()
    record.timings.train_seconds = round(before + time.perf_counter() - tick, 3)
    notices.extend(f"Training: {warning}." for warning in record.training.warnings)


def _check_checkpoint(path: Path, method: str) -> None:
    if not path.is_file():
        raise ConfigError(f"Checkpoint {path} does not exist; only runs that finished training "
                          f"have one.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"Checkpoint {path} does not load ({type(exc).__name__}); it is "
                          f"damaged. Run the method again instead.") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("method") != method \
            or not isinstance(checkpoint.get("state_dict"), dict):
        raise ConfigError(f"{path} is not a checkpoint of method '{method}'.")
    needs = checkpoint.get("needs", [])
    if not (isinstance(needs, list) and all(isinstance(need, str) for need in needs)):
        raise ConfigError(f"Checkpoint {path} has a malformed 'needs' entry; it is damaged. "
                          f"Run the method again instead.")


def _initial_record(plan: RunPlan, run_id: str, started: datetime) -> ResultRecord:
    spec = plan.spec
    config = RunConfig(**spec.to_dict(), method_config=as_plain(plan.config),
                       command=spec.command(), run_key=plan.run_key)
    return ResultRecord(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        created_at=started.isoformat(timespec="seconds"),
        config=config,
        method=MethodInfo(
            name=plan.method_cls.name, plugin=plan.method_origin.plugin,
            distribution=plan.method_origin.distribution, version=plan.method_origin.version,
            protocol=plan.task.method_protocol.__name__,
            reference=bool(plan.method_cls.reference),
        ),
        task=TaskInfo(plan.task.name, plan.task.version, plan.task.inputs.__name__),
        dataset=dataset_info(plan.dataset, {}, plan.budget.image_size, plan.files),
        budget=plan.budget.to_dict(),
        metrics={},
        timings=Timings(),
        training=None,
        environment=environment(plan.device),
        status=Status("running"),
        process=current_process(),
        source_run=Path(spec.checkpoint).parent.name if spec.checkpoint else None,
    )
