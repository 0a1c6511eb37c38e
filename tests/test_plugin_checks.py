"""`medbench plugins check` and medbench.testing: each point of a method's contract fails,
with its reason, for a method that breaks it, and passes for one that keeps it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from medbench.api import SynthesisMethod, hookimpl
from medbench.cli import app
from medbench.testing import assert_method_passes, check_method

from support import TinyPhantom


class _Base(SynthesisMethod):
    summary: ClassVar[str] = "a method for the contract checks' tests"

    def fit(self, train, val, context):
        for _ in context.batches(train, 16):
            pass

    def sample(self, n, labels, generator):
        return torch.rand(n, 1, 32, 32, generator=generator)


class Honest(_Base):
    name: ClassVar[str] = "honest"


class WrongShape(_Base):
    name: ClassVar[str] = "wrong-shape"

    def sample(self, n, labels, generator):
        return torch.rand(n, 1, 16, 16, generator=generator)


class HalfBudget(_Base):
    name: ClassVar[str] = "half-budget"

    def fit(self, train, val, context):
        for step, _ in enumerate(context.batches(train, 16)):
            if step == 7:  # 128 of the tiny budget's 256 images
                break


class Unseeded(_Base):
    name: ClassVar[str] = "unseeded"

    def sample(self, n, labels, generator):
        other = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
        return torch.rand(n, 1, 32, 32, generator=other)


class TestCopier(_Base):
    name: ClassVar[str] = "test-copier"

    def fit(self, train, val, context):
        super().fit(train, val, context)
        stolen = TinyPhantom().build(Path("unused"))["test"]["image"]
        self.stolen = torch.as_tensor(stolen, dtype=torch.float32)[:, None] / 255

    def sample(self, n, labels, generator):
        return self.stolen[torch.arange(n) % len(self.stolen)]


TestCopier.__test__ = False  # a method, not a test class


class ContractPlugin:
    @hookimpl
    def register_methods(self, register):
        for method in (Honest, WrongShape, HalfBudget, Unseeded, TestCopier):
            register(method)


@pytest.fixture(scope="module")
def registries():
    from medbench.host.manager import load_host

    from support import TinyDatasetPlugin

    return load_host(False, TinyDatasetPlugin(), ContractPlugin()).registries


def outcomes(registries, method: str) -> dict[str, tuple[str, str]]:
    results = check_method(method, registries, dataset="tiny-phantom", budget="tiny")
    assert {result.task for result in results} == {"synthesis"}
    return {result.point: (result.outcome, result.reason) for result in results}


def test_a_method_that_keeps_the_contract_passes_every_point(registries) -> None:
    found = outcomes(registries, "honest")
    assert {point: outcome for point, (outcome, _) in found.items()} == {
        "outputs": "pass", "budget": "pass", "determinism": "pass", "device": "n/a",
        "test split": "pass"}
    assert_method_passes("honest", registries, dataset="tiny-phantom", budget="tiny")


@pytest.mark.parametrize("method,point,reason", [
    ("wrong-shape", "outputs", "16, 16"),
    ("half-budget", "budget", "consumed 128 of the budget's 256 images"),
    ("unseeded", "determinism", "a second CPU run with seed 0 differs"),
    ("test-copier", "test split", "near-copies of test images"),
])
def test_each_broken_point_fails_with_its_reason(registries, method: str, point: str,
                                                 reason: str) -> None:
    outcome, why = outcomes(registries, method)[point]
    assert outcome == "fail" and reason in why, why
    with pytest.raises(AssertionError, match=point):
        assert_method_passes(method, registries, dataset="tiny-phantom", budget="tiny")


def test_plugins_check_reports_and_exits_1_on_a_failure(runner, make_tiny_host) -> None:
    host = make_tiny_host(ContractPlugin())
    tiny = ["--dataset", "tiny-phantom", "--budget", "tiny"]
    result = runner.invoke(app, ["plugins", "check", "half-budget", *tiny], obj=host)
    assert result.exit_code == 1, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["synthesis", "budget", "fail", "consumed 128 of the budget's 256 images"] in rows
    assert ["synthesis", "outputs", "pass", ""] in rows
    passed = runner.invoke(app, ["plugins", "check", "honest", *tiny, "--json"], obj=host)
    assert passed.exit_code == 0, passed.output
    unknown = runner.invoke(app, ["plugins", "check", "halfbudget"], obj=host)
    assert unknown.exit_code == 1 and "Unknown method 'halfbudget'" in unknown.output
    wrong_task = runner.invoke(app, ["plugins", "check", "honest", "--task", "translation"],
                               obj=host)
    assert wrong_task.exit_code == 1
    assert "does not run task(s) translation; it runs: synthesis" in wrong_task.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the path of a machine without CUDA")
def test_a_device_that_is_not_there_fails_the_device_point_with_its_reason(registries) -> None:
    results = check_method("honest", registries, dataset="tiny-phantom", budget="tiny",
                           device="cuda")
    [device] = [result for result in results if result.point == "device"]
    assert device.outcome == "fail"
    assert device.reason.startswith("on cuda: Device 'cuda' is not available on this machine")
    assert [r.outcome for r in results if r.point != "device"] == ["pass"] * 4
