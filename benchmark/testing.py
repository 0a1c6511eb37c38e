"""The checks every method must pass, for plugin authors: behind `medbench plugins check` and
importable in a plugin's own tests, the way anomalib tests every model.

    from medbench.testing import assert_method_passes

    def test_my_method_keeps_the_contract(tmp_path):
        assert_method_passes("mygan", out=tmp_path)

Each task the method claims is run at the `check` budget (a few seconds on a CPU, never a
result) on the task's default dataset, twice on the CPU with the same seed, and once on
`device` when that is not the CPU. What is checked, per task:

- outputs: the run finishes `ok`, so its predictions passed the task's checks of shape,
  dtype, finite values and value range (else the run's one-line reason);
- budget: it consumed exactly the budget's training images through `context.batches`;
- determinism: the second CPU run's checkpoint and metric values equal the first's;
- device: the run on `device` finishes `ok` (skipped when `device` is the CPU);
- test split: for synthesis, the `test_copies` audit does not flag its images as copies of
  test images. (The harness keeps the test split's truth out of the process while a method
  runs; what a plugin could still do is in docs/plugins.md.) Tasks whose outputs are not new
  images have no such audit.

Runs go to `out` and never to the results database.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from medbench.api.errors import MedbenchError
from medbench.api.progress import Progress
from medbench.api.synthesis import SynthesisInputs
from medbench.host.manager import Registries, load_host
from medbench.record.schema import ResultRecord
from medbench.record.spec import RunSpec
from medbench.run.runner import execute, plan_run, supported_tasks

CHECK_BUDGET = "check"


@dataclass(frozen=True)
class CheckResult:
    """One point of the contract for one task: passed, failed or not applicable."""

    task: str
    point: str
    outcome: str  # "pass", "fail" or "n/a"
    reason: str = ""


def check_method(method: str, registries: Registries | None = None,
                 tasks: Sequence[str] | None = None, device: str = "cpu",
                 out: Path | None = None, dataset: str | None = None,
                 budget: str = CHECK_BUDGET, progress: Progress | None = None,
                 announce: Callable[[str], None] | None = None) -> list[CheckResult]:
    """Run the checks for `method` on each of `tasks` (default: every task it claims), on
    `dataset` (default: each task's own) at `budget`. `progress` shows each run's bars;
    `announce` hears which run starts."""
    registries = registries or load_host().registries
    method_cls = registries.methods.get(method)
    claimed = supported_tasks(method_cls, list(registries.tasks))
    unknown = [task for task in tasks or () if task not in claimed]
    if unknown:
        raise ValueError(f"method '{method}' does not run task(s) {', '.join(unknown)}; it "
                         f"runs: {', '.join(claimed) or 'none'}")
    with tempfile.TemporaryDirectory(prefix="medbench-check-") as scratch:
        root = Path(out) if out is not None else Path(scratch)
        results: list[CheckResult] = []
        for task in tasks or claimed:
            results += _check_task(RunSpec(method=method, task=task, dataset=dataset,
                                           budget=budget, checkpoint_every=0),
                                   registries, device, root / task, progress,
                                   announce or (lambda line: None))
        return results


def assert_method_passes(method: str, registries: Registries | None = None,
                         tasks: Sequence[str] | None = None, device: str = "cpu",
                         out: Path | None = None, dataset: str | None = None,
                         budget: str = CHECK_BUDGET) -> None:
    """`check_method`, as a pytest assertion that lists every failed point."""
    failed = [result for result in check_method(method, registries, tasks, device, out,
                                                dataset, budget)
              if result.outcome == "fail"]
    assert not failed, "\n".join(f"{r.task}: {r.point}: {r.reason}" for r in failed)


def _check_task(base: RunSpec, registries: Registries, device: str, out: Path,
                progress: Progress | None, announce: Callable[[str], None]) -> list[CheckResult]:
    task = base.task
    task_obj = registries.tasks.get(task)
    metrics = [task_obj.primary_metric] if task_obj.primary_metric else []
    audit = issubclass(task_obj.inputs, SynthesisInputs) and "test_copies" in registries.metrics
    if audit:
        metrics.append("test_copies")

    def run(run_device: str, folder: str) -> tuple[ResultRecord, Path]:
        announce(f"{base.method} on {task}: {folder} run")
        spec = replace(base, device=run_device, metrics=metrics or None)
        outcome = execute(plan_run(spec, registries, out / folder), progress, store=False)
        return outcome.record, outcome.folder

    first, first_folder = run("cpu", "cpu-1")
    if first.status.state != "ok":
        reason = f"the run {first.status.state}: {first.status.reason}"
        return [CheckResult(task, "outputs", "fail", reason)]
    results = [CheckResult(task, "outputs", "pass")]
    training = first.training
    if training is None or training.images_seen != training.images_budget:
        seen = training.images_seen if training else 0
        budget = training.images_budget if training else 0
        results.append(CheckResult(task, "budget", "fail",
                                   f"consumed {seen:,} of the budget's {budget:,} images"))
    else:
        results.append(CheckResult(task, "budget", "pass",
                                   f"{training.images_seen:,} images"))
    second, second_folder = run("cpu", "cpu-2")
    different = _differences(first, first_folder, second, second_folder)
    results.append(CheckResult(task, "determinism", "fail" if different else "pass",
                               f"a second CPU run with seed 0 differs: {different}"
                               if different else "two CPU runs with seed 0 are identical"))
    if device == "cpu":
        results.append(CheckResult(task, "device", "n/a", "only the CPU was asked for"))
    else:
        try:
            other, _ = run(device, "device")
        except MedbenchError as exc:  # e.g. --device cuda where there is no GPU
            results.append(CheckResult(task, "device", "fail", f"on {device}: {exc}"))
        else:
            state = other.status.state
            results.append(CheckResult(task, "device", "pass" if state == "ok" else "fail",
                                       f"on {device}: {state}"
                                       + (f": {other.status.reason}" if state != "ok" else "")))
    if audit:
        copies = first.metrics["test_copies"]
        flagged = copies.status != "ok" or copies.details.get("flagged") is True
        results.append(CheckResult(
            task, "test split", "fail" if flagged else "pass",
            f"test_copies {copies.status}: {copies.value} of its images are near-copies of "
            f"test images" if flagged else "its images are not copies of test images"))
    else:
        results.append(CheckResult(task, "test split", "n/a",
                                   "no copy audit for this task's outputs; the harness keeps "
                                   "the test split's truth out of the method's reach"))
    return results


def _differences(first: ResultRecord, first_folder: Path, second: ResultRecord,
                 second_folder: Path) -> str:
    """What differs between two runs that should be identical; "" when nothing."""
    if second.status.state != "ok":
        return f"it {second.status.state}: {second.status.reason}"
    if _checkpoint_digest(first_folder) != _checkpoint_digest(second_folder):
        return "the trained weights (checkpoint.pt)"
    values = {name: (a.value, second.metrics[name].value) for name, a in first.metrics.items()
              if name in second.metrics and a.value != second.metrics[name].value}
    return ", ".join(f"{name} {a} then {b}" for name, (a, b) in values.items())


def _checkpoint_digest(folder: Path) -> str:
    path = folder / "checkpoint.pt"
    if not path.is_file():
        return ""
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    digest = hashlib.sha256()
    _digest_into(digest, state)
    return digest.hexdigest()


def _digest_into(digest: Any, value: object) -> None:
    """Tensors by content, containers in order, anything else by its repr."""
    if isinstance(value, torch.Tensor):
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(str(key).encode())
            _digest_into(digest, value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            _digest_into(digest, item)
    else:
        digest.update(repr(value).encode())
