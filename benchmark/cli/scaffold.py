"""`medbench plugins new`: a complete, installable plugin package for one method.

The method it writes is trivial but valid for its task's protocol: it spends exactly the
budget through `context.batches`, learns a statistic of the training data (a mean image, a
per-pixel class frequency), answers with it, and passes `medbench plugins check`. It is a
baseline to replace, not a result.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from medbench.api.errors import ConfigError

NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")

# `fit` for the methods that learn the images' per-pixel mean and spread (for an anomaly
# method: of the normal images, which are all it is given).
MOMENTS_FIT = '''
    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        # The per-pixel mean and spread of the images it is given, over exactly the budget.
        total = torch.zeros((), device=self.device)
        for images in context.batches(train, _batch(self, train)):
            self.mean, self.spread, total = _running_moments(images, self.mean, self.spread,
                                                              total)
            context.log(mean=self.mean.mean())
'''

# Per method protocol: (the base class, the class attributes and methods).
PROTOCOLS: dict[str, tuple[str, str]] = {
    "SynthesisMethod": ("SynthesisMethod", MOMENTS_FIT + '''
    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn((n, *self.mean.shape), generator=generator).to(self.device)
        return (self.mean + noise * self.spread.sqrt()).clamp(0, 1)
'''),
    "ImageToImageMethod": ("ImageToImageMethod", '''
    paired = False  # it learns from the targets alone, so unpaired data is enough

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        # The mean target image, over exactly the budget; every source maps to it.
        total = torch.zeros((), device=self.device)
        for targets in context.batches(train, _batch(self, train), fields="target"):
            self.mean, self.spread, total = _running_moments(targets, self.mean,
                                                              self.spread, total)
            context.log(mean=self.mean.mean())

    @torch.no_grad()
    def translate(self, source: torch.Tensor) -> torch.Tensor:
        return self.mean.expand(len(source), *self.mean.shape).clamp(0, 1)
'''),
    "SegmentationMethod": ("SegmentationMethod", '''
    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        # How often each pixel has each class, over exactly the budget: a location prior.
        classes = len(self.data.field("mask").value_names)
        self.mean = torch.zeros(classes, *self.mean.shape[1:], device=self.device)
        seen = 0
        for masks in context.batches(train, _batch(self, train), fields="mask"):
            one_hot = torch.nn.functional.one_hot(masks[:, 0].long(), classes)
            self.mean += one_hot.permute(0, 3, 1, 2).sum(0)
            seen += len(masks)
            context.log(seen=float(seen))
        self.mean /= max(seen, 1)

    @torch.no_grad()
    def segment(self, images: torch.Tensor) -> torch.Tensor:
        return self.mean.expand(len(images), *self.mean.shape).clone()
'''),
    "LesionSynthesisMethod": ("LesionSynthesisMethod", MOMENTS_FIT + '''
    @torch.no_grad()
    def inpaint(self, healthy: torch.Tensor, lesion: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        # The mean lesion slice inside the mask, the healthy slice everywhere else.
        return (healthy * (1 - lesion) + self.mean * lesion).clamp(0, 1)
'''),
    "AnomalyMethod": ("AnomalyMethod", MOMENTS_FIT + '''
    @torch.no_grad()
    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        maps = (images.to(self.device) - self.mean).pow(2).mean(1, keepdim=True)
        return maps.flatten(1).mean(1), maps  # far from the mean normal image: abnormal
'''),
}

PLUGIN = '''"""{summary}: a medbench plugin, made by `medbench plugins new`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from medbench.api import DataInfo, Split, TrainContext, {base}, hookimpl


@dataclass
class {cls}Config:
    batch_size: int = 32

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"batch_size must lie in [1, 4096], got {{self.batch_size}}")


def _running_moments(batch: torch.Tensor, mean: torch.Tensor, spread: torch.Tensor,
                     total: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pixel mean and variance so far, updated with `batch` (Chan et al.'s formula)."""
    count = torch.tensor(float(len(batch)), device=batch.device)
    batch_mean, batch_spread = batch.mean(0), batch.var(0, unbiased=False)
    merged = total + count
    delta = batch_mean - mean
    mean = mean + delta * count / merged
    spread = (spread * total + batch_spread * count + delta.pow(2) * total * count / merged) \\
        / merged
    return mean, spread, merged


def _batch(method: {base}, train: Split) -> int:
    """The configured batch size, or the whole split when it is smaller."""
    return min(method.config.batch_size, len(train))


class {cls}({base}):
    name = "{name}"
    summary = "{summary}"
    Config = {cls}Config  # `--set batch_size=64` is checked against these fields

    def __init__(self, config: {cls}Config, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        channels = data.field("{field}").channels
        self.mean = torch.zeros(channels, data.image_size, data.image_size, device=device)
        self.spread = torch.zeros_like(self.mean)
{methods}
    def state_dict(self) -> dict[str, Any]:
        return {{"mean": self.mean, "spread": self.spread}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.spread = state["mean"].to(self.device), state["spread"].to(self.device)


@hookimpl
def register_methods(register) -> None:
    register({cls})
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "0.1.0"
description = "{summary}: a medbench plugin"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["medbench", "torch"]

[project.optional-dependencies]
test = ["pytest"]

# What makes it a medbench plugin: an entry point in the `medbench` group.
[project.entry-points.medbench]
{name} = "{package}.plugin"

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["README.md"]  # the model card, inside the wheel
'''

CARD = '''# {name}: {summary}

**Paper:** none yet: this is the baseline `medbench plugins new` wrote. Cite the paper your
method follows here.

## The idea
It learns one statistic of the training data over the budget ({idea}) and answers every
question with it. Replace it with your method.

## In medbench
| file | what |
|---|---|
| `plugin.py` | the method: settings, `fit`, `{answer}`, and the hook that registers it |

Settings (`--set key=value`), with defaults: `batch_size` (32).

## Usage
```bash
medbench run --method {name} --task {task}
```

## Results
None yet. Give the command, budget, seeds, machine and dataset version of every number.
'''

README = '''# {distribution}

A medbench plugin: the method `{name}` for the `{task}` task.

```bash
pip install -e .              # medbench finds it through its entry point
medbench plugins check {name}  # its contract, point by point
medbench run --method {name} --task {task}
pip install -e ".[test]" && pytest
```

The method is in `{package}/plugin.py`, its model card in `{package}/README.md`. See
medbench's docs/writing-a-method.md and docs/plugins.md.
'''

TEST = '''"""{name}'s tests, with medbench's own contract checks."""

from medbench.testing import assert_method_passes


def test_{package}_keeps_medbench_s_contract(tmp_path) -> None:
    # Outputs, the exact budget, determinism on the CPU{audit}.
    assert_method_passes("{name}", tasks=["{task}"], out=tmp_path)
'''

IDEAS = {"SynthesisMethod": ("a per-pixel mean and spread of the images", "sample"),
         "ImageToImageMethod": ("the mean target image", "translate"),
         "SegmentationMethod": ("how often each pixel has each class", "segment"),
         "AnomalyMethod": ("the mean normal image", "score"),
         "LesionSynthesisMethod": ("the mean lesion slice, pasted inside each mask",
                                   "inpaint")}
FIELDS = {"SynthesisMethod": "image", "ImageToImageMethod": "target",
          "SegmentationMethod": "image", "AnomalyMethod": "image",
          "LesionSynthesisMethod": "image"}


def write_plugin(name: str, task: str, protocol: str, out: Path) -> Path:
    """Write the package for method `name` of `task` (whose method protocol is `protocol`)
    into `out`/medbench-NAME; ConfigError for a bad name or an existing folder."""
    if not NAME.match(name) or "--" in name:
        raise ConfigError(f"'{name}' is not a method name: use 2-40 lower-case letters, digits "
                          f"and single hyphens, starting with a letter")
    if protocol not in PROTOCOLS:
        raise ConfigError(f"task '{task}' asks for a {protocol}, for which `plugins new` has "
                          f"no template; start from docs/writing-a-method.md")
    package = "medbench_" + name.replace("-", "_")
    if keyword.iskeyword(package):
        raise ConfigError(f"'{name}' makes a package name Python reserves")
    distribution = f"medbench-{name}"
    root = out / distribution
    if root.exists():
        raise ConfigError(f"{root} exists; choose another --out or remove it")
    base, methods = PROTOCOLS[protocol]
    idea, answer = IDEAS[protocol]
    words = {"name": name, "task": task, "package": package, "distribution": distribution,
             "cls": "".join(part.title() for part in name.split("-")), "base": base,
             "summary": f"A trivial {task} baseline named {name}", "methods": methods,
             "field": FIELDS[protocol], "idea": idea, "answer": answer,
             "audit": ", and no copies of test images" if protocol == "SynthesisMethod"
             else ""}
    files = {"pyproject.toml": PYPROJECT, "README.md": README,
             f"{package}/__init__.py": '"""{summary}: a medbench plugin."""\n',
             f"{package}/plugin.py": PLUGIN, f"{package}/README.md": CARD,
             f"tests/test_{package}.py": TEST}
    try:
        for relative, template in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**words), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write the package into {out}: {exc.strerror or exc}") \
            from None
    return root
