"""One run, start to finish: resolve, train, checkpoint, evaluate, record.

The harness owns everything here; the method is only asked to `fit` and to predict. Every
user error is raised before any data is built or any training starts, and once a run folder
exists a record is always written into it, whatever happens after.
"""

from __future__ import annotations

import dataclasses
import shlex
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from medbench.api.dataset import DataInfo, DatasetSpec
from medbench.api.method import Method
from medbench.api.metric import MetricResult
from medbench.api.task import EvalContext, Task
from medbench.errors import ConfigError, PluginError, UnsupportedError
from medbench.plugin_manager import Registries
from medbench.progress import Progress, SilentProgress
from medbench.record.schema import (
    SCHEMA_VERSION,
    DatasetInfo,
    MethodInfo,
    ResultRecord,
    RunConfig,
    Status,
    TaskInfo,
    Timings,
    Training,
)
from medbench.registry import Origin
from medbench.run import artifacts
from medbench.run.budgets import DEFAULT_BUDGET, Budget, get_budget
from medbench.run.data import dataset_info, to_split, verify_against_manifest
from medbench.run.device import resolve_device
from medbench.run.overrides import build_config
from medbench.run.paths import cache_root
from medbench.run.provenance import environment
from medbench.run.seeding import derived_generator, seed_everything
from medbench.run.training import Diverged, TrainContext


@dataclass
class RunRequest:
    """What the user asked for; everything else is derived from it."""

    method: str
    task: str
    dataset: str | None = None  # None: the task's default dataset
    budget: str = DEFAULT_BUDGET
    seed: int = 0
    device: str = "auto"
    out_dir: Path = Path("runs")
    overrides: dict[str, str] = field(default_factory=dict)
    eval_options: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None  # None: cache_root()


@dataclass
class RunPlan:
    """A request checked against the registries: every object resolved and compatible."""

    request: RunRequest
    task: Task
    method_cls: type[Method]
    method_origin: Origin
    dataset: DatasetSpec
    budget: Budget
    config: Any
    device: torch.device
    cache_dir: Path


@dataclass
class RunOutcome:
    record: ResultRecord
    folder: Path
    notices: list[str]


def plan_run(request: RunRequest, registries: Registries) -> RunPlan:
    """Resolve and validate a request; raises a MedbenchError on the first problem."""
    task = registries.tasks.get(request.task)
    method_entry = registries.methods.entry(request.method)
    method_cls = method_entry.value
    if task.name not in method_cls.tasks:
        raise UnsupportedError(
            f"Method '{method_cls.name}' does not support task '{task.name}'. "
            f"It supports: {', '.join(method_cls.tasks) or 'no task'}."
        )
    problem = task.conformance_problem(method_cls)
    if problem:
        raise PluginError(f"{problem} ({method_entry.origin}).")
    dataset = registries.datasets.get(request.dataset or task.default_dataset)
    missing = [name for name in task.required_fields if name not in dataset.fields]
    if missing:
        suitable = [d.name for d in registries.datasets
                    if set(task.required_fields) <= set(d.fields)]
        raise UnsupportedError(
            f"Dataset '{dataset.name}' lacks field(s) {', '.join(missing)} that task "
            f"'{task.name}' needs. Datasets that have them: {', '.join(suitable) or 'none'}."
        )
    if request.seed < 0:
        raise ConfigError(f"Seed must be a non-negative integer, got {request.seed}.")
    weights = request.eval_options.get("inception_weights")
    if weights and not Path(weights).expanduser().is_file():
        raise ConfigError(f"--inception-weights {weights} is not a file. Pass the path of "
                          f"pytorch-fid's pt_inception-2015-12-05-6726825d.pth, or omit it.")
    return RunPlan(
        request=request,
        task=task,
        method_cls=method_cls,
        method_origin=method_entry.origin,
        dataset=dataset,
        budget=get_budget(request.budget),
        config=build_config(method_cls.Config, request.overrides, method_cls.name),
        device=resolve_device(request.device),
        cache_dir=request.cache_dir or cache_root(),
    )


def reproduce_command(plan: RunPlan) -> str:
    request = plan.request
    words = ["medbench", "run", "--method", plan.method_cls.name, "--task", plan.task.name,
             "--dataset", plan.dataset.name, "--budget", plan.budget.name,
             "--seed", str(request.seed), "--device", request.device]
    for key, value in request.overrides.items():
        words += ["--set", f"{key}={value}"]
    if request.eval_options.get("inception_weights"):
        words += ["--inception-weights", str(request.eval_options["inception_weights"])]
    return shlex.join(words)


def _run_id(plan: RunPlan, started: datetime) -> str:
    return (f"{started:%Y%m%d-%H%M%S}_{plan.method_cls.name}_{plan.task.name}_"
            f"{plan.dataset.name}_{plan.budget.name}_s{plan.request.seed}")


def execute(plan: RunPlan, registries: Registries, progress: Progress | None = None,
            ) -> RunOutcome:
    """Carry out a validated plan; always leaves a record in the run folder."""
    progress = progress or SilentProgress()
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    folder = artifacts.make_run_folder(plan.request.out_dir, _run_id(plan, started))
    record = _initial_record(plan, folder.name, started)
    notices: list[str] = []
    try:
        _run_phases(plan, registries, progress, folder, record, notices)
    except KeyboardInterrupt:
        record.status = Status("failed", "interrupted by the user")
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, never lost
        (folder / artifacts.ERROR_LOG).write_text(traceback.format_exc(), encoding="utf-8")
        record.artifacts["error_log"] = artifacts.ERROR_LOG
        step = record.training.steps if record.training else None
        record.status = Status("failed", f"{type(exc).__name__}: {exc}", step)
    finally:
        record.timings.total_seconds = round(time.perf_counter() - clock, 3)
        record.write(folder)
    return RunOutcome(record, folder, notices)


def _run_phases(plan: RunPlan, registries: Registries, progress: Progress, folder: Path,
                record: ResultRecord, notices: list[str]) -> None:
    budget, device, seed = plan.budget, plan.device, plan.request.seed
    seed_everything(seed)

    tick = time.perf_counter()
    arrays = plan.dataset.build(plan.cache_dir / "datasets")
    hashes = verify_against_manifest(plan.dataset, arrays)
    record.dataset = dataset_info(plan.dataset, arrays, hashes, budget.image_size)
    splits = {name: to_split(name, split_arrays, budget.image_size, plan.dataset.class_names)
              for name, split_arrays in arrays.items()}
    del arrays
    record.timings.data_seconds = round(time.perf_counter() - tick, 3)

    train, val, test = splits["train"], splits["val"], splits["test"]
    info = DataInfo(budget.image_size, train.channels, plan.dataset.class_names)
    method = plan.method_cls(plan.config, info, device)

    tick = time.perf_counter()
    with progress.bar(f"train {plan.method_cls.name}", total=budget.train_images) as bar:
        context = TrainContext(budget.train_images, device, derived_generator(seed, "batches"),
                               bar)
        try:
            method.fit(train, val, context)
        except Diverged as diverged:
            record.status = Status("diverged", str(diverged), diverged.step)
        finally:
            record.training = Training(
                images_budget=budget.train_images, images_seen=context.images_seen,
                steps=context.step,
                final_losses={k: v for k, v in (context.losses.rows or [{}])[-1].items()
                              if k not in ("step", "images_seen")},
            )
            losses = artifacts.save_losses(folder, context.losses.rows)
            if losses:
                record.artifacts["losses"] = losses
    record.timings.train_seconds = round(time.perf_counter() - tick, 3)
    if record.status.state == "diverged":
        return  # no metrics from a diverged model: they would look like a result

    record.artifacts["checkpoint"] = artifacts.save_checkpoint(folder, {
        "method": plan.method_cls.name, "method_config": record.config.method_config,
        "state_dict": method.state_dict(),
    })

    tick = time.perf_counter()
    eval_context = EvalContext(
        metrics=plan.task.metrics_for(list(registries.metrics)),
        device=device,
        seed=seed,
        num_samples=budget.eval_samples,
        cache_dir=plan.cache_dir / "reference-features",
        dataset_key=f"{plan.dataset.name}-{plan.dataset.version}-{hashes['test'][:16]}"
                    f"-{budget.image_size}px",
        options=dict(plan.request.eval_options),
        progress=progress,
    )
    evaluation = plan.task.evaluate(method, test, eval_context)
    record.timings.evaluate_seconds = round(time.perf_counter() - tick, 3)
    record.timings.sample_seconds = evaluation.sample_seconds
    record.metrics = evaluation.metrics
    notices.extend(evaluation.notices)
    if evaluation.preview is not None:
        record.artifacts["samples"] = artifacts.save_sample_grid(folder, evaluation.preview)
    failed = failed_metrics(evaluation.metrics)
    if failed:
        record.status = Status("failed", f"metric(s) failed: {', '.join(failed)}")


def _initial_record(plan: RunPlan, run_id: str, started: datetime) -> ResultRecord:
    request = plan.request
    return ResultRecord(
        schema_version=SCHEMA_VERSION,
        run_id=run_id,
        created_at=started.isoformat(timespec="seconds"),
        config=RunConfig(
            method=plan.method_cls.name, task=plan.task.name, dataset=plan.dataset.name,
            budget=plan.budget.name, seed=request.seed, device=request.device,
            method_config=dataclasses.asdict(plan.config), overrides=dict(request.overrides),
            eval_options={k: str(v) for k, v in request.eval_options.items() if v is not None},
            command=reproduce_command(plan),
        ),
        method=MethodInfo(
            name=plan.method_cls.name, plugin=plan.method_origin.plugin,
            distribution=plan.method_origin.distribution, version=plan.method_origin.version,
            conditional=plan.method_cls.conditional,
        ),
        task=TaskInfo(plan.task.name, plan.task.version, plan.task.kind),
        dataset=DatasetInfo(plan.dataset.name, plan.dataset.version, plan.budget.image_size, {}),
        budget=plan.budget.to_dict(),
        metrics={},
        timings=Timings(),
        training=None,
        environment=environment(plan.device),
        status=Status("ok"),
    )


def failed_metrics(metrics: dict[str, MetricResult]) -> list[str]:
    return [name for name, result in metrics.items() if result.status == "failed"]
