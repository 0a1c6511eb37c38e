"""The result record: one JSON document per run, enough to rerun that run exactly.

Every key carries a comment. Bump SCHEMA_VERSION on any change that a reader must know of.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medbench.api.metric import MetricResult

SCHEMA_VERSION = "1.0"
RECORD_FILENAME = "record.json"


@dataclass
class RunConfig:
    """The full resolved configuration; `medbench rerun RECORD` replays exactly this."""

    method: str  # registered method name
    task: str  # registered task name
    dataset: str  # registered dataset name
    budget: str  # budget profile name, see `budget` below for what it fixed
    seed: int  # the one seed from which every random stream of the run derives
    device: str  # device requested ("auto" or e.g. "cuda:0"); the one used is in environment
    method_config: dict[str, Any]  # every hyperparameter of the method, defaults included
    overrides: dict[str, str]  # the --set assignments as typed, a subset of method_config
    eval_options: dict[str, Any]  # evaluation settings, e.g. inception_weights path
    command: str  # a command line that reproduces this run


@dataclass
class MethodInfo:
    name: str  # registered method name
    plugin: str  # entry-point name of the plugin that registered it
    distribution: str | None  # pip distribution of that plugin
    version: str | None  # version of that distribution
    conditional: bool  # whether it was given class labels when sampling


@dataclass
class TaskInfo:
    name: str  # registered task name
    version: str  # task protocol version; results across versions are not comparable
    kind: str  # task family, e.g. "synthesis"


@dataclass
class SplitInfo:
    size: int  # images in the split
    sha256: str  # SHA-256 of the split's content as built, checked against the manifest


@dataclass
class DatasetInfo:
    name: str  # registered dataset name
    version: str  # dataset definition version
    image_size: int  # size every image was resized to for this run
    splits: dict[str, SplitInfo]  # per split: size and content hash


@dataclass
class Timings:
    data_seconds: float | None = None  # building or loading and resizing the splits
    train_seconds: float | None = None  # method.fit
    sample_seconds: float | None = None  # asking the method for its predictions
    evaluate_seconds: float | None = None  # the whole task evaluation, sampling included
    total_seconds: float | None = None  # wall time of the run


@dataclass
class Training:
    images_budget: int  # images the budget allowed
    images_seen: int  # images actually consumed (a closed-form method may use fewer)
    steps: int  # optimiser steps, i.e. batches handed out
    final_losses: dict[str, float]  # the last logged losses


@dataclass
class Environment:
    medbench_version: str  # installed medbench version
    torch_version: str  # torch.__version__
    python_version: str  # platform.python_version()
    platform: str  # platform.platform()
    device: str  # the device actually used, e.g. "cpu" or "cuda:0"
    device_name: str  # e.g. the GPU model
    cpu_threads: int  # torch.get_num_threads()
    git_commit: str | None  # commit of the medbench source tree, when it is a git checkout
    git_dirty: bool | None  # whether that tree had uncommitted changes
    libraries: dict[str, str]  # versions of the libraries that compute metrics


@dataclass
class Status:
    state: Literal["ok", "failed", "diverged"]  # diverged: a loss became NaN/inf
    reason: str | None = None  # one line on why, when not ok
    step: int | None = None  # training step at which it diverged or failed, when known


@dataclass
class ResultRecord:
    schema_version: str  # version of this schema
    run_id: str  # name of the run folder
    created_at: str  # UTC ISO-8601 start time
    config: RunConfig
    method: MethodInfo
    task: TaskInfo
    dataset: DatasetInfo
    budget: dict[str, Any]  # the budget profile's full definition at run time
    metrics: dict[str, MetricResult]  # metric name -> nested result
    timings: Timings
    training: Training | None
    environment: Environment
    status: Status
    artifacts: dict[str, str] = field(default_factory=dict)  # role -> path relative to run folder

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False)

    def write(self, folder: Path) -> Path:
        """Atomic: a reader never sees half a record."""
        path = folder / RECORD_FILENAME
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(self.to_json())
        os.replace(tmp, path)
        return path


def read_record(path: Path) -> dict[str, Any]:
    """The record as plain JSON; readers check `schema_version` before using it."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValueError(f"{path} is not a medbench result record")
    return data
