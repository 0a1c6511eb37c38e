"""Sweeps: lists of methods, tasks, datasets and seeds expanded into runs, run in order or
in worker processes, each skipped when the results database already holds it.

A pair the method cannot run (another protocol, a declined task, a dataset that cannot
serve the task) is skipped with a note; anything else wrong (an unknown name, a bad
setting) stops the sweep before it starts. A failing run never stops the sweep.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from medbench.api.errors import ConfigError, UnsupportedError
from medbench.api.progress import SilentProgress
from medbench.api.storage import read_regular_file
from medbench.host.manager import Registries, load_host
from medbench.record.spec import DEFAULT_BUDGET, RunSpec
from medbench.run.liveness import current_process, owner_gone
from medbench.run.ray_executor import RayOptions, in_ray
from medbench.run.runner import RunInterrupted, RunPlan, execute, plan_run
from medbench.run.scoring import DEFAULT_METRICS, metrics_for_task
from medbench.store import ResultStore

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MAX_SWEEP_FILE_BYTES = 2**20  # a sweep file is a few lines of TOML
SWEEP_KEYS = ("methods", "tasks", "datasets", "seeds", "budget", "train_fraction", "metrics",
              "precision", "compile", "checkpoint_every", "time_limit")
ENDINGS = ("ok", "skipped", "failed", "diverged", "interrupted")


@dataclass(frozen=True)
class Sweep:
    methods: list[str]
    tasks: list[str]
    datasets: list[str] = field(default_factory=list)  # empty: each task's default dataset
    seeds: list[int] = field(default_factory=lambda: [0])
    budget: str = DEFAULT_BUDGET
    train_fraction: float = 1.0
    precision: str = "32"  # every run's training precision
    compile: bool = False  # every run's --compile
    checkpoint_every: int | None = None  # images between training checkpoints (RunSpec)
    time_limit: float | None = None  # seconds each run may take (RunSpec)
    # Like `run --metrics` ("default" = the task's defaults), applied to each task with the
    # names that score it; None: every task's defaults.
    metrics: list[str] | None = None


def read_sweep_file(path: Path) -> dict[str, Any]:
    """A TOML sweep file's settings (keys of SWEEP_KEYS), checked; ConfigError otherwise."""
    try:
        data = tomllib.loads(read_regular_file(path, MAX_SWEEP_FILE_BYTES, "sweep file")
                             .decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: not a regular file
        if isinstance(exc, tomllib.TOMLDecodeError):  # a ValueError too
            raise ConfigError(f"Sweep file {path} is not valid TOML: {exc}") from None
        raise ConfigError(f"Cannot read sweep file {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"Sweep file {path} is nested too deeply to be a sweep") from None
    unknown = sorted(set(data) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"Sweep file {path} has unknown key(s) {', '.join(unknown)}; "
                          f"keys: {', '.join(SWEEP_KEYS)}")
    for key in ("methods", "tasks", "datasets", "metrics"):
        if key in data and not (isinstance(data[key], list)
                                and all(isinstance(v, str) and v for v in data[key])):
            raise ConfigError(f"Sweep file {path}: '{key}' must be a list of names")
    if "seeds" in data and not (isinstance(data["seeds"], list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in data["seeds"])):
        raise ConfigError(f"Sweep file {path}: 'seeds' must be a list of integers")
    for key in ("budget", "precision"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"Sweep file {path}: '{key}' must be a name")
    if "compile" in data and not isinstance(data["compile"], bool):
        raise ConfigError(f"Sweep file {path}: 'compile' must be true or false")
    every = data.get("checkpoint_every", 0)
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ConfigError(f"Sweep file {path}: 'checkpoint_every' must be a whole number of "
                          f"images >= 0")
    limit = data.get("time_limit", 1.0)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit < 1e12:
        raise ConfigError(f"Sweep file {path}: 'time_limit' must be a positive number of "
                          f"seconds")
    fraction = data.get("train_fraction", 1.0)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise ConfigError(f"Sweep file {path}: 'train_fraction' must be a number in (0, 1]")
    return data


@dataclass
class Planned:
    plan: RunPlan
    label: str  # method / task / dataset seed S, for the summary
    skip: str | None = None  # why the database says it need not run


@dataclass
class SweepResult:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDINGS, 0))
    failures: list[str] = field(default_factory=list)  # "label: reason"


def expand(sweep: Sweep, registries: Registries, out_dir: Path,
           notes: list[str], data_dir: Path | None = None,
           offline: bool = False, results_db: Path | None = None) -> list[RunPlan]:
    """Every valid (task, method, dataset, seed) as a checked plan, in that order; pairs the
    method or dataset cannot serve become notes. Each plan's record goes to `results_db`
    (None: the default database)."""
    if not sweep.methods or not sweep.tasks or not sweep.seeds:
        raise ConfigError("A sweep needs at least one method, one task and one seed")
    plans = []
    unused = set(sweep.metrics or []) - {DEFAULT_METRICS}
    per_task: dict[str, list[str] | None] = {}
    for task in sweep.tasks:
        per_task[task] = None
        if sweep.metrics is not None:
            per_task[task] = metrics_for_task(registries.tasks.get(task), registries.metrics,
                                              sweep.metrics)
            if per_task[task] is None:
                raise ConfigError(f"None of the sweep's metrics ({', '.join(sweep.metrics)}) "
                                  f"scores task '{task}'; add 'default' for its defaults")
            unused -= set(per_task[task] or [])
    if unused:
        raise ConfigError(f"Metric(s) {', '.join(sorted(unused))} score none of the sweep's "
                          f"tasks ({', '.join(sweep.tasks)})")
    for task in sweep.tasks:
        datasets = sweep.datasets or [registries.tasks.get(task).default_dataset]
        for method in sweep.methods:
            for dataset in datasets:
                for seed in sweep.seeds:
                    spec = RunSpec(method, task, dataset, sweep.budget, seed,
                                   metrics=per_task[task],
                                   train_fraction=sweep.train_fraction,
                                   precision=sweep.precision, compile=sweep.compile,
                                   checkpoint_every=sweep.checkpoint_every,
                                   time_limit=sweep.time_limit)
                    try:
                        plans.append(plan_run(spec, registries, out_dir,
                                              data_dir=data_dir, offline=offline,
                                              results_db=results_db))
                    except UnsupportedError as exc:
                        notes.append(f"skipped {method} / {task} / {dataset}: {exc}")
                        break  # the same for every seed
    return plans


def finished_states(force: bool, retry_failed: bool) -> frozenset[str]:
    """How a stored run must have ended for the sweep not to run its experiment again: ok,
    unless `force`; failed or diverged too, unless `retry_failed` (or `force`)."""
    if force:
        return frozenset()
    return frozenset({"ok"} if retry_failed else {"ok", "failed", "diverged"})


def decide(plans: list[RunPlan], store: ResultStore, force: bool,
           retry_failed: bool) -> list[Planned]:
    """Which plans the database says are done: an ok record skips a run unless `force`; a
    failed or diverged one unless `retry_failed` (or `force`)."""
    finished = finished_states(force, retry_failed)
    planned = []
    for plan in plans:
        spec = plan.spec
        label = f"{spec.method} / {spec.task} / {spec.dataset} seed {spec.seed}"
        ended = store.states(plan.run_key) & finished
        skip = None
        if "ok" in ended:
            skip = "done (ok)"
        elif ended:
            skip = f"ended {'/'.join(sorted(ended))}; --retry-failed reruns it"
        planned.append(Planned(plan, label, skip))
    return planned


def run_sweep(planned: list[Planned], registries: Registries, workers: int,
              on_done: Callable[[Planned, str, str | None], None],
              finished: frozenset[str] | None = None,
              ray: RayOptions | None = None) -> SweepResult:
    """Run what is not skipped; `on_done(item, ending, reason)` after each run. Each run is
    claimed in the results database first (`claimed_run`), so sweeps that share it split
    the work: one that another process is running, or that ended in `finished` meanwhile,
    ends "skipped". `finished` defaults to `finished_states(force=False, retry_failed=False)`.
    With `ray`, the runs are tasks on a Ray cluster (`ray_executor`), not local processes.
    """
    finished = finished_states(False, False) if finished is None else finished
    result = SweepResult()
    todo = [item for item in planned if item.skip is None]
    result.counts["skipped"] = len(planned) - len(todo)
    if ray is not None:
        outcomes = in_ray(todo, finished, ray)
    elif workers == 1:
        outcomes = _in_process(todo, finished)
    else:
        outcomes = _in_workers(todo, workers, finished)
    for item, ending, reason in outcomes:
        result.counts[ending] += 1
        if ending in ("failed", "diverged"):
            result.failures.append(f"{item.label}: {reason}")
        on_done(item, ending, reason)
    return result


def claimed_run(plan: RunPlan, finished: frozenset[str]) -> tuple[str, str | None]:
    """Run `plan` if this process can claim its experiment; ("skipped", why) if not."""
    owner = dataclasses.asdict(current_process())
    with ResultStore(plan.results_db) as store:
        busy = store.claim(plan.run_key, owner, owner_gone, finished)
    if busy:
        return "skipped", busy
    heard: list[str] = []  # "Resuming run ..." or why not: the sweep's line says it
    try:
        outcome = execute(plan, SilentProgress(), heard.append)
    finally:
        with ResultStore(plan.results_db) as store:
            store.release(plan.run_key, owner)
    return outcome.record.status.state, "; ".join(
        filter(None, [outcome.record.status.reason, *heard])) or None


def _in_process(todo: list[Planned],
                finished: frozenset[str]) -> Iterator[tuple[Planned, str, str | None]]:
    """One run after another; Ctrl-C (RunInterrupted) ends the sweep after the run's record
    says interrupted."""
    for item in todo:
        yield item, *claimed_run(item.plan, finished)


def threads_per_worker(workers: int) -> int:
    """Each worker's share of the CPU threads, so N workers do not oversubscribe them."""
    return max(1, (os.cpu_count() or 1) // workers)


def _in_workers(todo: list[Planned], workers: int,
                finished: frozenset[str]) -> Iterator[tuple[Planned, str, str | None]]:
    threads = threads_per_worker(workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_start_worker, initargs=(threads,)) as pool:
        pending: dict[Future, Planned] = {
            pool.submit(_run_in_worker, item.plan.spec, str(item.plan.out_dir),
                        item.plan.data_dir, item.plan.offline, item.plan.results_db,
                        finished): item
            for item in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                try:
                    ending, reason = future.result()
                except Exception as exc:  # the worker itself died
                    ending, reason = "failed", f"{type(exc).__name__}: {exc}"
                yield item, ending, reason


_WORKER_REGISTRIES: list[Registries] = []


def _start_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


def _run_in_worker(spec: RunSpec, out_dir: str, data_dir: Path | None, offline: bool,
                   results_db: Path | None,
                   finished: frozenset[str]) -> tuple[str, str | None]:
    """One run in a worker process, with the plugins installed there."""
    if not _WORKER_REGISTRIES:
        _WORKER_REGISTRIES.append(load_host().registries)
    try:
        plan = plan_run(spec, _WORKER_REGISTRIES[0], Path(out_dir), data_dir=data_dir,
                        offline=offline, results_db=results_db)
        return claimed_run(plan, finished)
    except RunInterrupted as stop:
        return "interrupted", str(stop)
    except Exception as exc:  # a run that cannot even start is a failed run
        return "failed", f"{type(exc).__name__}: {exc}"


def elapsed(start: float) -> str:
    minutes, seconds = divmod(int(time.perf_counter() - start), 60)
    return f"{minutes} min {seconds} s"
