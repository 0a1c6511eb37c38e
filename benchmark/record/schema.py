"""The result record: one JSON document per run, enough to rerun that run exactly.

Every field of every dataclass here carries a comment (tests/test_record.py checks it).
Bump SCHEMA_VERSION on any change that a reader must know of.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from medbench.api.storage import atomic_write, parse_json, read_regular_file
from medbench.record.spec import RunSpec

# 2.1: method.reference, method.adaptation, training.parts; 2.2: config.train_fraction;
# 2.3: environment.cpu_capability, environment.cpu_model, config.run_key
# 2.4: dataset.licence, citation, noncommercial, preprocessing, source_files, verified,
# split_seed;
# config.allow_unverified
# 2.5: images (the fixed-case panel as PNG), training.loss_curve, dataset.synthetic
# 2.6: training.peak_memory_bytes, training.peak_memory_kind, config.precision
# 2.7: config.checkpoint_every, training.checkpoint_every, checkpoints_written,
# resumed_from_images
# 2.8: config.compile, training.compiled_modules
# 2.9: config.time_limit
SCHEMA_VERSION = "2.9"
# Versions whose `config` `rerun` reads.
READABLE_VERSIONS = ("1.0", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8",
                     "2.9")
RECORD_FILENAME = "record.json"
MAX_RECORD_BYTES = 16 * 2**20


@dataclass(frozen=True)
class RunConfig(RunSpec):
    """The run as asked (RunSpec's keys, dataset resolved) plus what the harness resolved."""

    method_config: dict[str, Any] = field(default_factory=dict)  # all hyperparameters
    command: str = ""  # a command line that reproduces this run
    run_key: str = ""  # hash of the resolved experiment; a sweep skips keys already ok


@dataclass
class MethodInfo:
    name: str  # registered method name
    plugin: str  # entry-point name of the plugin that registered it
    distribution: str | None  # pip distribution of that plugin
    version: str | None  # version of that distribution
    protocol: str  # the API base class it was run through, e.g. "SynthesisMethod"
    reference: bool = False  # a reference row (e.g. real images): shown apart, never ranked
    adaptation: str | None = None  # how the task adapted it, e.g. per-class; None: as is


@dataclass
class TaskInfo:
    name: str  # registered task name
    version: str  # task protocol version; results across versions are not comparable
    inputs: str  # the MetricInputs type its metrics read, e.g. "SynthesisInputs"


@dataclass
class SplitInfo:
    size: int  # samples in the split
    sha256: str  # SHA-256 over every declared field, checked against the manifest
    fields: dict[str, str]  # field name -> that field's SHA-256


@dataclass
class DatasetInfo:
    name: str  # registered dataset name
    version: str  # dataset definition version
    image_size: int  # size every spatial field was resized to for this run
    pixel_spacing_mm: float | None  # at image_size; None when unknown
    fields: dict[str, dict[str, Any]]  # field name -> kind, dtype, channels, units, ...
    splits: dict[str, SplitInfo]  # per split: size and content hashes
    licence: str = "unspecified"  # the data's licence, e.g. "CC BY 4.0"
    citation: str = ""  # what work using the data must cite
    noncommercial: bool = False  # the licence forbids commercial use
    preprocessing: str | None = None  # medbench.api.preprocess version; None before 2.4
    source_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name ->
    # expected and actual checksum, verified, url; empty for generated datasets
    verified: bool = True  # False: a source file failed its checksum (--allow-unverified)
    split_seed: int | None = None  # the seed that assigned patients to splits, where one did
    synthetic: bool | None = None  # generated data (a phantom), not patients'; None before 2.5


@dataclass
class MetricResult:
    """One metric's outcome, nested in the result record under its name."""

    value: float | None  # the score; None when the metric is unavailable or failed
    higher_is_better: bool  # direction, so tables can rank without knowing the metric
    units: str  # e.g. "squared feature units", "dB", "fraction"
    range: tuple[float | None, float | None]  # (low, high) bounds; None means unbounded
    implementation: str  # library and function that computed it
    implementation_version: str  # version of that library
    metric_version: str  # medbench's version of this metric's definition
    options: dict[str, Any]  # the metric's resolved options, defaults included
    n_samples: dict[str, int]  # samples behind the value, e.g. {"real": 1500, "generated": 1500}
    status: Literal["ok", "unavailable", "failed"] = "ok"  # unavailable: cannot run here
    comparable: bool = True  # False: valid, but not to be ranked with this metric's others
    caveat: str | None = None  # why it is not comparable
    reason: str | None = None  # why the value is missing
    details: dict[str, Any] = field(default_factory=dict)  # extractor id, spread, ...


@dataclass
class Timings:
    data_seconds: float | None = None  # building or loading, checking and resizing the splits
    train_seconds: float | None = None  # method.fit
    predict_seconds: float | None = None  # asking the method for its predictions
    evaluate_seconds: float | None = None  # predictions plus every metric
    total_seconds: float | None = None  # wall time of the run


@dataclass
class Training:
    images_budget: int  # images the budget allowed
    images_seen: int  # images actually consumed (a closed-form method may use fewer)
    steps: int  # optimiser steps, i.e. batches handed out
    final_losses: dict[str, float]  # the losses of the last training step
    fit_data: dict[str, dict[str, Any]]  # what the task gave fit: split -> size and fields
    warnings: list[str] = field(default_factory=list)  # e.g. losses that stopped moving
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # per-class shares: part
    # -> train_size, images_budget, images_seen, steps; empty when trained whole
    loss_curve: dict[str, list[float | None]] = field(default_factory=dict)  # column ->
    # the loss log thinned to at most 100 means of consecutive steps ("images_seen" among
    # the columns; None where a mean met a NaN); the full log is losses.csv in the run folder
    peak_memory_bytes: int | None = None  # peak memory during training (None: unknown here)
    peak_memory_kind: str = ""  # what that peak counts: CUDA allocations or resident memory
    checkpoint_every: int | None = None  # images between training checkpoints (None: none,
    # the method cannot resume, or --checkpoint-every 0)
    checkpoints_written: int = 0  # training checkpoints this attempt wrote
    resumed_from_images: int | None = None  # images seen at the checkpoint it resumed from
    compiled_modules: int = 0  # networks torch.compile'd for training (--compile)


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
    # Training is reproducible on one machine, not across machines: CPUs with other vector
    # units round differently. These two say which kind of CPU a run saw.
    cpu_capability: str | None = None  # torch.backends.cpu.get_cpu_capability(), e.g. AVX512
    cpu_model: str | None = None  # the CPU's model name (/proc/cpuinfo, else platform)


RunState = Literal["running", "ok", "failed", "diverged", "interrupted"]


@dataclass
class Status:
    state: RunState  # running until it ends; diverged: a loss became NaN/inf
    reason: str | None = None  # one line on why, when not ok
    step: int | None = None  # training step at which it diverged or failed, when known


@dataclass
class Process:
    host: str  # socket.gethostname() of the machine that ran it
    pid: int  # its process id there
    start_ticks: str | None  # process start time (Linux /proc), so a reused pid is not it


@dataclass
class ResultRecord:
    schema_version: str  # version of this schema
    run_id: str  # name of the run folder
    created_at: str  # UTC ISO-8601 start time
    config: RunConfig  # what was asked, resolved; `medbench rerun` replays it
    method: MethodInfo  # which method ran, from which plugin
    task: TaskInfo  # which task scored it
    dataset: DatasetInfo  # which data, at which size, with which content hashes
    budget: dict[str, Any]  # the budget profile's full definition at run time
    metrics: dict[str, MetricResult]  # metric name -> nested result
    timings: Timings  # seconds spent in each phase
    training: Training | None  # None when the run ended before training finished
    environment: Environment  # versions, device and source commit
    status: Status  # running, ok, failed, diverged or interrupted, with the reason
    process: Process | None = None  # who runs it, to tell a dead `running` run
    source_run: str | None = None  # run_id whose checkpoint `medbench evaluate` scored
    artifacts: dict[str, str] = field(default_factory=dict)  # role -> path in the run folder
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"png_base64",
    # "caption", "width", "height"}: small figures that travel with the record (export,
    # import, leaderboards), e.g. "panel", the task's predictions on fixed cases

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRecord:
        """A stored record (`json.loads` of one) as this typed record, for any version in
        READABLE_VERSIONS: keys added since take their defaults, keys this version does not
        know are ignored. ValueError names a missing or malformed key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a record must be an object, got {type(data).__name__}")
        config = data.get("config")
        spec = RunConfig.from_dict(config)
        extras = {name: config[name] for name in ("method_config", "command", "run_key")
                  if name in config}
        values = {**data, "config": dataclasses.replace(spec, **extras)}
        return _build(cls, values, "record")

    def write(self, folder: Path) -> Path:
        """Atomic: a reader never sees half a record."""
        path = folder / RECORD_FILENAME
        with atomic_write(path, "w", encoding="utf-8") as out:
            out.write(self.to_json())
        return path


def read_record(path: Path) -> dict[str, Any]:
    """The record as plain JSON, of a known schema version; ValueError says what is wrong.

    Only a regular file of at most MAX_RECORD_BYTES is read, so a FIFO, a device such as
    /dev/zero or a huge file is refused instead of hanging or filling memory.
    """
    path = Path(path)
    raw = read_regular_file(path, MAX_RECORD_BYTES, "record")
    data = parse_json(raw.decode("utf-8"), str(path))
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValueError(f"{path} is not a medbench result record")
    if data["schema_version"] not in READABLE_VERSIONS:
        raise ValueError(f"schema_version {data['schema_version']!r} is not one this medbench "
                         f"reads ({', '.join(READABLE_VERSIONS)})")
    return data


Typed = TypeVar("Typed")


def _build(cls: type[Typed], data: Any, where: str) -> Typed:
    """A dataclass from its JSON form, field by field as its type hints say."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name in data:
            values[item.name] = _value(hints[item.name], data[item.name],
                                       f"{where}.{item.name}")
        elif item.default is dataclasses.MISSING \
                and item.default_factory is dataclasses.MISSING:
            raise ValueError(f"{where} lacks '{item.name}'")
    return cls(**values)


def _value(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (hint,) = [arg for arg in args if arg is not type(None)] or [Any]
        return _value(hint, value, where)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is dict and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be an object, got {type(value).__name__}")
        return {key: _build(args[1], item, f"{where}.{key}") for key, item in value.items()}
    if origin is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    return value
