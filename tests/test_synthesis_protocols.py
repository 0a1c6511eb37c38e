"""The per-class protocol, budget defaults, PGGAN's growth, and the memorization audit on
the reference rows, through whole tiny runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from medbench.cli import app
from medbench.host.validation import method_problems
from medbench.plugins.pggan.schedule import growth_schedule
from medbench.plugins.wgan_gp.method import WGANGP
from medbench.record.spec import RunSpec
from medbench.run.runner import plan_run

DOWNSTREAM = "downstream_gain,downstream_auroc_gain,tstr_balanced_accuracy"


def run_record(runner, host, args: list[str], out: Path) -> tuple[Path, dict]:
    result = runner.invoke(app, args, obj=host, terminal_width=200)
    assert result.exit_code == 0, result.output
    folders = sorted(out.iterdir(), key=lambda p: p.stat().st_mtime)
    return folders[-1], json.loads((folders[-1] / "record.json").read_text())


def test_an_unconditional_method_runs_one_instance_per_class_within_the_budget(
        runner, host, tiny_args, tmp_path: Path) -> None:
    folder, record = run_record(runner, host, tiny_args(
        "dcgan", "--set", "width=8", "--metrics",
        f"fd_randcnn,{DOWNSTREAM},scarce_downstream_gain"), tmp_path / "runs")
    assert record["method"]["adaptation"].startswith("per-class protocol")
    parts = record["training"]["parts"]
    assert set(parts) == {"normal", "cyst", "metastasis", "hemangioma"}
    assert {name: part["train_size"] for name, part in parts.items()} == {
        "normal": 16, "cyst": 16, "metastasis": 16, "hemangioma": 16}
    assert sum(part["images_budget"] for part in parts.values()) == 256
    assert sum(part["images_seen"] for part in parts.values()) \
        == record["training"]["images_seen"] <= 256
    assert any(name.startswith("cyst/") for name in record["training"]["final_losses"])
    for name in DOWNSTREAM.split(","):
        metric = record["metrics"][name]
        assert metric["status"] == "ok", metric
        assert metric["n_samples"] == {"real_train": 64, "synthetic": 40, "test": 48}
        low, high = metric["details"]["ci95"]
        assert low <= metric["value"] <= high
    arms = record["metrics"]["downstream_gain"]["details"]["arms"]
    assert set(arms) == {"real", "real+synthetic", "synthetic"}
    # The data-scarce arm: 10 % of each class's real images (2 of 16), the same synthetic
    # images, and the synthetic-only classifier trained once for both arms.
    scarce = record["metrics"]["scarce_downstream_gain"]
    assert scarce["status"] == "ok" and scarce["options"] == {"real_fraction": 0.1}
    assert scarce["n_samples"] == {"real_train": 8, "synthetic": 40, "test": 48}
    assert scarce["details"]["arms"]["synthetic"] == arms["synthetic"]
    assert scarce["details"]["arms"]["real"] != arms["real"]
    assert set(arms["real"]["sensitivity"]) == {"normal", "cyst", "metastasis", "hemangioma"}
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert state["needs"] == ["labels"]
    assert set(state["state_dict"]["per_class"]) == set(parts)

    # The checkpoint's shape decides at evaluation: the per-class model is rebuilt.
    _, evaluated = run_record(runner, host, ["evaluate", str(folder), "--out",
                                             str(tmp_path / "eval"), "--metrics", "fd_randcnn"],
                              tmp_path / "eval")
    assert evaluated["status"]["state"] == "ok"
    assert evaluated["method"]["adaptation"] == record["method"]["adaptation"]


def test_without_a_metric_that_needs_labels_the_method_runs_whole(
        runner, host, tiny_args, tmp_path: Path) -> None:
    folder, record = run_record(runner, host, tiny_args("dcgan", "--set", "width=8",
                                                        "--metrics", "fd_randcnn"),
                                tmp_path / "runs")
    assert record["method"]["adaptation"] is None and record["training"]["parts"] == {}
    # Its checkpoint cannot give labelled images: the downstream metric says why.
    _, evaluated = run_record(runner, host, ["evaluate", str(folder), "--out",
                                             str(tmp_path / "eval"), "--metrics",
                                             "downstream_gain"], tmp_path / "eval")
    assert evaluated["metrics"]["downstream_gain"]["status"] == "unavailable"
    assert "no class labels" in evaluated["metrics"]["downstream_gain"]["reason"]


def test_a_conditional_method_is_asked_for_classes_and_never_split(
        runner, host, tiny_args, tmp_path: Path) -> None:
    _, record = run_record(runner, host, tiny_args("acgan", "--set", "width=8",
                                                   "--metrics", f"fd_randcnn,{DOWNSTREAM}"),
                           tmp_path / "runs")
    assert record["method"]["adaptation"] is None and record["training"]["parts"] == {}
    assert record["metrics"]["downstream_gain"]["status"] == "ok"


def test_the_memorization_audit_flags_train_copy_and_not_holdout(
        runner, host, tiny_args, tmp_path: Path) -> None:
    values, leakage = {}, {}
    for method in ("train-copy", "holdout"):
        _, record = run_record(runner, host, tiny_args(method, "--metrics",
                                                       "memorization,test_copies"),
                               tmp_path / "runs")
        values[method] = record["metrics"]["memorization"]
        leakage[method] = record["metrics"]["test_copies"]
    copy, held = values["train-copy"], values["holdout"]
    assert copy["value"] == 1.0 and copy["details"]["copy_auc"] == 1.0
    assert held["value"] <= 0.1 and held["details"]["copy_auc"] < 0.8
    assert copy["n_samples"] == {"generated": 40, "train": 64, "test": 48}
    # Copies of training images, or new real images, are not copies of test images.
    assert all(not audit["details"]["flagged"] and audit["value"] <= 0.1
               for audit in leakage.values())


def test_pggan_grows_through_resolutions_during_a_tiny_run(
        runner, host, tiny_args, tmp_path: Path) -> None:
    folder, _ = run_record(runner, host, tiny_args(
        "pggan", "--metrics", "fd_randcnn", "--set", "batch_size=8", "--set", "max_width=8",
        "--set", "fmap_base=64"), tmp_path / "runs")
    growth = torch.load(folder / "checkpoint.pt", weights_only=True)["state_dict"]["growth"]
    sizes = [int(size) for _, size, _ in growth]
    assert sizes == sorted(sizes) and sizes[0] == 4 and sizes[-1] == 32
    assert len(set(sizes)) == 4
    assert [int(fading) for _, size, fading in growth if size == 32] == [1, 0]


def test_growth_schedule_fills_the_budget_and_ends_stable_at_the_final_resolution() -> None:
    schedule = growth_schedule(60_000, first_level=1, last_level=3, final_share=0.4)
    assert [(p.level, p.fading) for p in schedule] == [(1, False), (2, True), (2, False),
                                                      (3, True), (3, False)]
    assert schedule[0].start == 0 and schedule[-1].end == 60_000
    assert schedule[-1].end - schedule[-1].start == 24_000
    assert all(a.end == b.start for a, b in zip(schedule, schedule[1:], strict=False))
    fade = schedule[3]
    assert fade.alpha(fade.start) == 0.0 and fade.alpha(fade.end) == 1.0


def test_budget_defaults_apply_under_the_users_settings(host) -> None:
    registries = host.registries
    plan = plan_run(RunSpec(method="wgan-gp", task="synthesis", budget="smoke"), registries)
    assert plan.config.n_critic == WGANGP.budget_defaults["smoke"]["n_critic"]
    plan = plan_run(RunSpec(method="wgan-gp", task="synthesis", budget="smoke",
                            overrides={"n_critic": "3"}), registries)
    assert plan.config.n_critic == 3
    plan = plan_run(RunSpec(method="wgan-gp", task="synthesis", budget="standard"),
                    registries)
    assert plan.config.n_critic == 5


def test_budget_defaults_that_do_not_build_a_config_are_a_plugin_problem() -> None:
    class Broken(WGANGP):
        name = "broken-wgan"
        budget_defaults = {"smoke": {"n_critic": 0}, "standard": {"no_such": 1}}

    problems = method_problems(Broken)
    assert any("budget_defaults['smoke']" in problem and "n_critic" in problem
               for problem in problems)
    assert any("budget_defaults['standard']" in problem for problem in problems)


@pytest.mark.parametrize("method", ["gaussian", "holdout", "train-copy"])
def test_reference_rows_are_marked_and_ranked_methods_are_not(
        method: str, runner, host, tiny_args, tmp_path: Path) -> None:
    _, record = run_record(runner, host, tiny_args(method, "--metrics", "fd_randcnn"),
                           tmp_path / "runs")
    assert record["method"]["reference"] is (method != "gaussian")
