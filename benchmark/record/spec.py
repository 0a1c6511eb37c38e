"""What a user asks of one run, encoded once: the CLI builds it, the record stores it,
`medbench rerun` reads it back, and `command()` turns it into the line that reproduces it."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medbench.api.training import PRECISIONS

DEFAULT_BUDGET = "smoke"
ALL_METRICS = "*"  # --metric-option *.KEY=VALUE: every selected metric that has option KEY


@dataclass(frozen=True)
class RunSpec:
    method: str  # registered method name
    task: str  # registered task name
    dataset: str | None = None  # registered dataset name; None: the task's default
    budget: str = DEFAULT_BUDGET  # budget profile name
    seed: int = 0  # the one seed from which every random stream of the run derives
    device: str = "auto"  # as requested: "auto", "cpu", "cuda:0"...; the one used: environment
    overrides: dict[str, str] = field(default_factory=dict)  # --set KEY=VALUE, as typed
    metrics: list[str] | None = None  # --metrics as typed; None: the task's default metrics
    metric_options: dict[str, dict[str, str]] = field(default_factory=dict)  # M.KEY=VALUE items
    checkpoint: str | None = None  # `medbench evaluate`: score this checkpoint, train nothing
    train_fraction: float = 1.0  # low-data arm: share of train the method learns from
    allow_unverified: bool = False  # run on source files that failed their checksum
    precision: str = "32"  # training precision: "32", "bf16" or "16-mixed" (autocast)
    checkpoint_every: int | None = None  # images between training checkpoints; None: a
    # fifth of the budget; 0: none. Not part of the experiment: results do not depend on it
    compile: bool = False  # torch.compile the networks the method hands to the context
    time_limit: float | None = None  # seconds the whole run may take; None: no limit. Not
    # part of the experiment: a run that ends in time has the same results without it

    def command(self) -> str:
        """The command line that runs this spec again."""
        if self.checkpoint is not None:
            words = ["medbench", "evaluate", str(Path(self.checkpoint).parent),
                     "--device", self.device]
        else:
            words = ["medbench", "run", "--method", self.method, "--task", self.task]
            if self.dataset is not None:
                words += ["--dataset", self.dataset]
            words += ["--budget", self.budget, "--seed", str(self.seed),
                      "--device", self.device]
            if self.train_fraction != 1.0:
                words += ["--train-fraction", repr(self.train_fraction)]
            if self.allow_unverified:
                words += ["--allow-unverified"]
            if self.precision != "32":
                words += ["--precision", self.precision]
            if self.compile:
                words += ["--compile"]
            if self.checkpoint_every is not None:
                words += ["--checkpoint-every", str(self.checkpoint_every)]
            if self.time_limit is not None:
                words += ["--time-limit", f"{self.time_limit:g}"]
            for key, value in self.overrides.items():
                words += ["--set", f"{key}={value}"]
        if self.metrics is not None:
            words += ["--metrics", ",".join(self.metrics)]
        for metric, options in self.metric_options.items():
            for key, value in options.items():
                words += ["--metric-option", f"{metric}.{key}={value}"]
        return shlex.join(words)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunSpec:
        """Read a spec back from a record's `config`; raises ValueError naming a bad key."""
        if not isinstance(data, dict):
            raise ValueError(f"config must be an object, got {type(data).__name__}")
        legacy = data.get("eval_options")  # schema 1.0 kept the Inception weights there
        if isinstance(legacy, dict) and legacy.get("inception_weights") and \
                "metric_options" not in data:
            data = {**data, "metric_options": {
                ALL_METRICS: {"inception_weights": str(legacy["inception_weights"])}}}
        values = {
            "method": _string(data, "method"),
            "task": _string(data, "task"),
            "dataset": _string(data, "dataset", optional=True),
            "budget": _string(data, "budget"),
            "seed": data.get("seed"),
            "device": _string(data, "device"),
            "overrides": _string_map(data, "overrides"),
            "metrics": data.get("metrics"),
            "metric_options": data.get("metric_options", {}),
            "checkpoint": _string(data, "checkpoint", optional=True),
            "train_fraction": data.get("train_fraction", 1.0),  # absent before schema 2.2
            "allow_unverified": data.get("allow_unverified", False),  # absent before 2.4
            "precision": data.get("precision", "32"),  # absent before 2.6
            "checkpoint_every": data.get("checkpoint_every"),  # absent before 2.7
            "compile": data.get("compile", False),  # absent before 2.8
            "time_limit": data.get("time_limit"),  # absent before 2.9
        }
        limit = values["time_limit"]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                                  or not 0 < limit < float("inf")):
            raise ValueError(f"config.time_limit must be a positive number of seconds or null, "
                             f"got {limit!r}")
        every = values["checkpoint_every"]
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 0):
            raise ValueError(f"config.checkpoint_every must be a whole number of images >= 0 "
                             f"or null, got {every!r}")
        if values["precision"] not in PRECISIONS:
            raise ValueError(f"config.precision must be one of {', '.join(PRECISIONS)}, got "
                             f"{values['precision']!r}")
        if not isinstance(values["compile"], bool):
            raise ValueError(f"config.compile must be true or false, got "
                             f"{values['compile']!r}")
        if not isinstance(values["allow_unverified"], bool):
            raise ValueError(f"config.allow_unverified must be true or false, got "
                             f"{values['allow_unverified']!r}")
        fraction = values["train_fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not 0 < fraction <= 1:
            raise ValueError(f"config.train_fraction must be a number in (0, 1], "
                             f"got {fraction!r}")
        values["train_fraction"] = float(fraction)
        seed = values["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(f"config.seed must be an integer from 0 to {2**32 - 1}, "
                             f"got {seed!r}")
        metrics = values["metrics"]
        if metrics is not None and not (isinstance(metrics, list)
                                        and all(isinstance(m, str) for m in metrics)):
            raise ValueError(f"config.metrics must be a list of names or null, got {metrics!r}")
        options = values["metric_options"]
        if not (isinstance(options, dict) and all(
                isinstance(k, str) and isinstance(v, dict)
                and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
                for k, v in options.items())):
            raise ValueError("config.metric_options must map metric names to "
                             "{option: value} objects of strings")
        return cls(**values)


def _string(data: dict[str, Any], key: str, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"config.{key} must be a non-empty string, got {value!r}")
    return value


def _string_map(data: dict[str, Any], key: str) -> dict[str, str]:
    value = data.get(key, {})
    if not (isinstance(value, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
        raise ValueError(f"config.{key} must map strings to strings, got {value!r}")
    return dict(value)
