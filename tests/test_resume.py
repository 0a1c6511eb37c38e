"""Crash-safe resume: a killed or interrupted run carries on from its last training
checkpoint and ends exactly where an uninterrupted run of the same seed ends."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from medbench.api import SynthesisMethod, hookimpl, training
from medbench.cli import app
from medbench.host.manager import load_host
from medbench.record.spec import RunSpec
from medbench.run.artifacts import LOSSES
from medbench.run.resume import TRAIN_STATE, TrainingCheckpoints
from medbench.run.runner import RunInterrupted, RunOutcome, execute, plan_run, supported_tasks

from support import TINY_PAIRS, TinyPairsPlugin, medbench_process, state_of

# DCGAN at batch 8 on the tiny budget: 32 steps, a checkpoint every 48 images (at 48, 96,
# 144, 192 and 240), so an interruption at 170 images leaves two behind (144 and 96).
OVERRIDES = {"batch_size": "8"}
EVERY = 48
STOP_AT = 170


def spec(method: str = "dcgan", metrics: tuple[str, ...] = ("fd_randcnn",)) -> RunSpec:
    return RunSpec(method, "synthesis", "tiny-phantom", "tiny", seed=3, device="cpu",
                   overrides=OVERRIDES if method == "dcgan" else {}, metrics=list(metrics),
                   checkpoint_every=EVERY)


def values(outcome: RunOutcome) -> dict[str, float | None]:
    return {name: metric.value for name, metric in outcome.record.metrics.items()}


def interrupt_at(monkeypatch: pytest.MonkeyPatch, images: int) -> None:
    """Ctrl-C as soon as a logged step brings the run to `images` images."""
    log = training.TrainContext.log

    def interrupting(self: training.TrainContext, **losses: object) -> None:
        log(self, **losses)
        if self._root().images_seen >= images:
            raise KeyboardInterrupt

    monkeypatch.setattr(training.TrainContext, "log", interrupting)


def interrupted_run(host, run_spec: RunSpec, out: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Path:
    with monkeypatch.context() as patch:
        interrupt_at(patch, STOP_AT)
        with pytest.raises(RunInterrupted) as stopped:
            execute(plan_run(run_spec, host.registries, out))
    folder = stopped.value.outcome.folder
    assert state_of(folder)["state"] == "interrupted"
    return folder


# The tasks whose evaluation is quickest, first: each method is checked on one task.
QUICK_TASKS = ("synthesis", "reconstruction", "segmentation", "anomaly")


def resumable_runs() -> list[tuple[str, str, str, str]]:
    """Every registered method that can resume, on the quickest task it can run, on the
    tiny data, scored by that task's primary metric: (method, task, dataset, metric)."""
    registries = load_host(False).registries
    runs = []
    for method in registries.methods:
        if not method.resumable:
            continue
        tasks = supported_tasks(method, list(registries.tasks))
        task = min(tasks, key=lambda name: QUICK_TASKS.index(name) if name in QUICK_TASKS
                   else len(QUICK_TASKS))
        runs.append((method.name, task, TINY_PAIRS.get(task, "tiny-phantom"),
                     registries.tasks.get(task).primary_metric or "default"))
    return runs


RESUMABLE = resumable_runs()


# Settings under which a step count a method keeps decides the result after the resume at
# step 18 (of 32; the loss log keeps every 10th step): WGAN-GP's generator steps at 14 and
# 29, so step 20 logs the loss carried from before the checkpoint; PGGAN's penalty on every
# 4th step, which a counter restarted at the checkpoint would move.
STEP_COUNTED = {"wgan-gp": {"n_critic": "15"}, "pggan": {"gp_every": "4"}}


def test_the_built_in_methods_that_resume() -> None:
    assert {method for method, *_ in RESUMABLE} >= {
        "dcgan", "wgan-gp", "pggan", "acgan", "pix2pix", "unet-l1", "unet", "adversarial-unet",
        "cyclegan", "anogan", "f-anogan", "autoencoder", "ganomaly"}


@pytest.mark.parametrize("method, task, dataset, metric", RESUMABLE,
                         ids=[f"{method}-{task}" for method, task, *_ in RESUMABLE])
def test_an_interrupted_run_resumes_to_the_result_of_an_uninterrupted_one(
        make_tiny_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str,
        task: str, dataset: str, metric: str) -> None:
    host = make_tiny_host(TinyPairsPlugin())
    method_cls = host.registries.methods.get(method)
    narrow = {name: "8" for name in ("batch_size", "width")
              if name in {field.name for field in dataclasses.fields(method_cls.Config)}}
    assert "batch_size" in narrow  # 32 steps: the checkpoints below
    run_spec = RunSpec(method, task, dataset, "tiny", seed=3, device="cpu",
                       overrides={**narrow, **STEP_COUNTED.get(method, {})}, metrics=[metric],
                       checkpoint_every=EVERY)
    check_resume(host, run_spec, tmp_path, monkeypatch)


def test_a_per_class_run_resumes_inside_the_class_it_was_training(
        host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_spec = spec(metrics=("fd_randcnn", "downstream_gain"))  # one DCGAN per class
    resumed = check_resume(host, run_spec, tmp_path, monkeypatch)
    parts = resumed.record.training.parts
    assert list(parts) == ["normal", "cyst", "metastasis", "hemangioma"]
    assert all(part["images_seen"] == 64 for part in parts.values())


def loss_log(folder: Path) -> str | None:
    path = folder / LOSSES
    return path.read_text() if path.exists() else None


def check_resume(host, run_spec: RunSpec, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> RunOutcome:
    straight = execute(plan_run(run_spec, host.registries, tmp_path / "straight"))
    folder = interrupted_run(host, run_spec, tmp_path / "runs", monkeypatch)
    saved = TrainingCheckpoints(folder, "").paths()
    assert [path.name for path in saved] == ["images-000000000144.pt", "images-000000000096.pt"]

    heard: list[str] = []
    resumed = execute(plan_run(run_spec, host.registries, tmp_path / "runs"),
                      announce=heard.append)
    assert heard == [f"Resuming run {folder.name} from its checkpoint at 144 of 256 training "
                     f"images."]
    assert resumed.folder == folder and resumed.record.status.state == "ok"
    assert values(resumed) == values(straight)
    assert resumed.record.training.final_losses == straight.record.training.final_losses
    # Every logged step too, such as a loss a method carries between its steps (no file
    # where no part reached a logged step).
    assert loss_log(folder) == loss_log(straight.folder)
    assert resumed.record.training.parts == straight.record.training.parts
    assert resumed.record.training.resumed_from_images == 144
    assert straight.record.training.checkpoint_every == EVERY
    assert straight.record.training.checkpoints_written == 5
    # Training is over: its checkpoints are gone, the final one stays.
    assert not (folder / TRAIN_STATE).exists() and (folder / "checkpoint.pt").is_file()
    return resumed


def test_a_damaged_last_checkpoint_falls_back_to_the_one_before(
        host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_spec = spec()
    straight = execute(plan_run(run_spec, host.registries, tmp_path / "straight"))
    folder = interrupted_run(host, run_spec, tmp_path / "runs", monkeypatch)
    newest, older = TrainingCheckpoints(folder, "").paths()
    newest.write_bytes(newest.read_bytes()[:1000])  # cut short, as a full disk would

    heard: list[str] = []
    resumed = execute(plan_run(run_spec, host.registries, tmp_path / "runs"),
                      announce=heard.append)
    assert heard[0].startswith(f"Training checkpoint {newest.name} does not load")
    assert heard[1].endswith("from its checkpoint at 96 of 256 training images.")
    assert values(resumed) == values(straight)


def test_with_no_checkpoint_that_loads_the_run_starts_from_zero(
        host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_spec = spec()
    folder = interrupted_run(host, run_spec, tmp_path / "runs", monkeypatch)
    for path in TrainingCheckpoints(folder, "").paths():
        # A file that unpickles to arbitrary objects is refused (weights_only loading).
        torch.save({"format": 1, "run_key": "x", "state": {"evil": Path("/")}}, path)
    heard: list[str] = []
    again = execute(plan_run(run_spec, host.registries, tmp_path / "runs"),
                    announce=heard.append)
    assert len(heard) == 3 and heard[-1].endswith("this run starts from zero.")
    assert again.folder != folder and again.record.training.resumed_from_images is None
    assert again.record.status.state == "ok"


class MeanImage(SynthesisMethod):
    """Trains through `batches()` and logs, but tracks nothing: a method that cannot
    resume (every trained built-in can)."""

    name: ClassVar[str] = "mean-image"
    summary: ClassVar[str] = "the running mean of the train images, not resumable"

    def fit(self, train, val, context) -> None:
        self.mean = torch.zeros(1, self.data.image_size, self.data.image_size)
        for real in context.batches(train, 8):
            self.mean = 0.9 * self.mean + 0.1 * real.mean(dim=0)
            context.log(loss=real.mean())

    def sample(self, n, labels, generator):
        return self.mean.expand(n, -1, -1, -1).clone()


class MeanImagePlugin:
    @hookimpl
    def register_methods(self, register):
        register(MeanImage)


def test_a_method_that_cannot_resume_restarts_from_zero_with_a_notice(
        make_tiny_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = make_tiny_host(MeanImagePlugin())
    run_spec = spec("mean-image")
    folder = interrupted_run(host, run_spec, tmp_path / "runs", monkeypatch)
    assert not (folder / TRAIN_STATE).exists()  # nothing tracked, nothing written
    heard: list[str] = []
    again = execute(plan_run(run_spec, host.registries, tmp_path / "runs"),
                    announce=heard.append)
    assert heard == [f"Run {folder.name} of this experiment stopped unfinished, and method "
                     f"'mean-image' cannot resume (it tracks no training state): this run "
                     f"starts from zero."]
    assert again.folder != folder and again.record.training.checkpoint_every is None


def test_a_sweep_resumes_an_interrupted_run_and_says_so(
        runner, host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_spec = RunSpec("dcgan", "synthesis", "tiny-phantom", "tiny", seed=0, device="cpu",
                       metrics=["fd_randcnn"], checkpoint_every=16)  # as the sweep asks
    folder = interrupted_run(host, run_spec, tmp_path / "runs", monkeypatch)
    result = runner.invoke(app, ["sweep", "--methods", "dcgan", "--tasks", "synthesis",
                                 "--datasets", "tiny-phantom", "--budget", "tiny",
                                 "--metrics", "fd_randcnn", "--checkpoint-every", "16",
                                 "--out", str(tmp_path / "runs")], obj=host, terminal_width=300)
    assert result.exit_code == 0, result.output
    assert (f"ok          dcgan / synthesis / tiny-phantom seed 0: Resuming run {folder.name} "
            f"from its checkpoint at 128 of 256 training images.") in result.output
    assert state_of(folder)["state"] == "ok" and len(list((tmp_path / "runs").iterdir())) == 1


def test_a_run_killed_with_sigkill_at_a_random_point_resumes_to_the_same_result(
        runner, host, tmp_path: Path) -> None:
    """A real SIGKILL somewhere in training, then the same command again: it resumes the
    run in its folder and ends with the numbers of a run that was never stopped."""
    out = tmp_path / "runs"
    args = ["run", "--method", "dcgan", "--task", "synthesis", "--dataset", "tiny-phantom",
            "--budget", "tiny-long", "--seed", "5", "--device", "cpu", "--metrics",
            "fd_randcnn", "--set", "batch_size=8", "--set", "width=8", "--checkpoint-every",
            "256"]
    killed = medbench_process(*args, "--out", str(out))
    # Kill right after a random checkpoint in the first half: 256 steps in all, so the run
    # is still training then.
    target = random.randrange(256, 1025, 256)
    deadline = time.monotonic() + 180
    while not [path for path in out.glob(f"*/{TRAIN_STATE}/images-*.pt")
               if int(path.stem.split("-")[1]) >= target]:
        assert killed.poll() is None, killed.communicate()[0]
        assert time.monotonic() < deadline, "no training checkpoint was written"
        time.sleep(0.005)
    time.sleep(random.uniform(0.0, 0.05))
    killed.kill()
    killed.wait(timeout=30)
    (folder,) = out.iterdir()
    assert state_of(folder)["state"] == "running", "the run finished before it was killed"

    again = runner.invoke(app, [*args, "--out", str(out)], obj=host, terminal_width=300)
    assert again.exit_code == 0, again.output
    assert f"Resuming run {folder.name} from its checkpoint at" in again.output
    straight = runner.invoke(app, [*args, "--out", str(tmp_path / "straight")], obj=host,
                             terminal_width=300)
    assert straight.exit_code == 0, straight.output
    (other,) = (tmp_path / "straight").iterdir()
    resumed, expected = (json.loads((run / "record.json").read_text())
                         for run in (folder, other))
    assert resumed["status"]["state"] == "ok"
    assert resumed["training"]["resumed_from_images"] >= target
    assert resumed["metrics"]["fd_randcnn"]["value"] == \
        expected["metrics"]["fd_randcnn"]["value"]
    assert resumed["training"]["final_losses"] == expected["training"]["final_losses"]
    assert (folder / "losses.csv").read_text() == (other / "losses.csv").read_text()
