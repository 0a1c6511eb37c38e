"""Sweeps on a Ray cluster (`medbench sweep --executor ray`): each run is a Ray task.

Ray schedules; medbench builds no scheduler of its own. The driver (the `sweep` command)
claims each run in the results database, as a local sweep does, and submits it as a task
that asks for its resources: `cpus_per_run` CPUs, or one GPU for a run on CUDA. A task
plans and executes the run on its worker (the installed plugins, plus MEDBENCH_PLUGINS),
writes the run folder there and returns the record; only the driver writes the database,
so each record reaches it exactly once. A worker that dies mid-run is replaced and the task
retried (Ray's `max_retries`); the retry resumes from the run's last training checkpoint
where the run folder is on the same machine or a shared filesystem, and otherwise starts
from zero. A run still lost after its retries is reported failed, with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medbench.api.errors import ConfigError
from medbench.api.progress import SilentProgress
from medbench.host.manager import Registries, load_host
from medbench.record.schema import ResultRecord
from medbench.record.spec import RunSpec
from medbench.run.liveness import current_process, owner_gone
from medbench.run.runner import RunInterrupted, execute, plan_run
from medbench.store import ResultStore, StoreError

if TYPE_CHECKING:
    from medbench.run.sweep import Planned

EXTRA = "ray"  # pip install 'medbench[ray]'
RETRIES = 2  # a run whose worker dies is tried again this many times
# Passed to every worker, whatever the cluster's own environment: where caches, data and
# extra plugins are, and how runs behave.
FORWARDED_ENV = ("MEDBENCH_", "PYTHONPATH", "SLOW_FIT_SECONDS")


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # an existing cluster (ray://..., HOST:PORT, auto); None: local
    cpus_per_run: int = 1  # CPUs each CPU run asks for (and uses as its torch threads)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--executor ray needs Ray, an optional extra: pip install "
                          f"'medbench[{EXTRA}]' (or `pip install ray`).") from None
    return ray


def connect(options: RayOptions) -> Any:
    """Ray, connected: to `options.address`, or a new local cluster on 127.0.0.1."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    env = {name: value for name, value in os.environ.items()
           if name.startswith(FORWARDED_ENV)}
    settings: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False,
                                "configure_logging": False}
    if options.address is None:
        settings.update(num_cpus=os.cpu_count() or 1, include_dashboard=False,
                        _node_ip_address="127.0.0.1")
    try:
        ray.init(address=options.address, **settings)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = options.address or "a local cluster"
        raise ConfigError(f"Cannot start or reach Ray at {where}: "
                          f"{' '.join(str(exc).split())[:200]}") from None
    return ray


def in_ray(todo: list[Planned], finished: frozenset[str],
           options: RayOptions) -> Iterator[tuple[Planned, str, str | None]]:
    """Run `todo` as Ray tasks; yields (item, ending, reason) as each ends, like the local
    executors."""
    ray = connect(options)
    task = ray.remote(_run_on_worker)
    gpus = ray.cluster_resources().get("GPU", 0) > 0
    owner = dataclasses.asdict(current_process())
    pending: dict[Any, Planned] = {}
    for item in todo:
        with ResultStore(item.plan.results_db) as store:
            busy = store.claim(item.plan.run_key, owner, owner_gone, finished)
        if busy:
            yield item, "skipped", busy
            continue
        device = item.plan.spec.device
        on_gpu = device.startswith("cuda") or (device == "auto" and gpus)
        resources = {"num_gpus": 1, "num_cpus": 1} if on_gpu else \
            {"num_cpus": options.cpus_per_run}
        reference = task.options(max_retries=RETRIES, retry_exceptions=False,
                                 **resources).remote(
            item.plan.spec, str(item.plan.out_dir), item.plan.data_dir, item.plan.offline,
            options.cpus_per_run)
        pending[reference] = item
    try:
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(done)
            try:
                yield (item, *_settle(ray, done, item.plan.results_db))
            finally:
                with ResultStore(item.plan.results_db) as store:
                    store.release(item.plan.run_key, owner)
    finally:
        for reference in pending:  # Ctrl-C: the runs not yet finished stop too
            ray.cancel(reference, force=True)


def _settle(ray: Any, reference: Any, db: Path | None) -> tuple[str, str | None]:
    """What one task returned, into the database (the driver's only)."""
    try:
        record_json, heard = ray.get(reference)
    except ray.exceptions.RayTaskError as exc:  # planning failed on the worker
        cause = exc.cause if isinstance(exc.cause, Exception) else exc
        return "failed", " ".join(f"{type(cause).__name__}: {cause}".split())[:300]
    except ray.exceptions.RayError as exc:  # the worker died, beyond its retries
        return "failed", (f"its Ray worker died {RETRIES + 1} times "
                          f"({type(exc).__name__}); the run folder says where it stopped")
    record = json.loads(record_json)
    try:
        with ResultStore(db) as store:
            store.put(record)
    except StoreError as exc:
        heard.append(f"{exc} The record is in the run folder; `medbench results import` adds "
                     f"it later.")
    status = ResultRecord.from_dict(record).status
    return status.state, "; ".join(filter(None, [status.reason, *heard])) or None


_WORKER_REGISTRIES: list[Registries] = []


def _run_on_worker(spec: RunSpec, out_dir: str, data_dir: Path | None, offline: bool,
                   threads: int) -> tuple[str, list[str]]:
    """One run on a Ray worker: planned there, executed, its record returned (not stored)."""
    import torch

    torch.set_num_threads(threads)
    if not _WORKER_REGISTRIES:
        _WORKER_REGISTRIES.append(load_host().registries)
    plan = plan_run(spec, _WORKER_REGISTRIES[0], Path(out_dir), data_dir=data_dir,
                    offline=offline)
    heard: list[str] = []
    try:
        outcome = execute(plan, SilentProgress(), heard.append, store=False)
    except RunInterrupted as stop:
        outcome = stop.outcome
    return outcome.record.to_json(), heard
