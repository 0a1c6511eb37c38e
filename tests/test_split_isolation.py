"""A method never receives the test split, nor anything through which it can reach it."""

from __future__ import annotations

import gc
import json
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from medbench.api import AnomalyMethod, ImageToImageMethod, SynthesisMethod, hookimpl
from medbench.cli import app
from medbench.report.leaderboards import build_leaderboards
from medbench.run import runner as run_module

from support import TinyBrain, TinyDatasetPlugin, TinyPairsPlugin, TinyPhantom

SEEN: dict[str, Any] = {}


class Snoop(SynthesisMethod):
    """Keeps everything the harness hands it, for the test to search."""

    name: ClassVar[str] = "snoop"
    summary: ClassVar[str] = "records what it is given"

    def fit(self, train, val, context):
        SEEN["fit"] = (self, train, val, context)
        SEEN["gc"] = arrays_in_the_process()
        for _ in context.batches(train, 16):
            pass

    def sample(self, n, labels, generator):
        SEEN.setdefault("sample", []).append((n, labels, generator))
        SEEN["gc"] += arrays_in_the_process()
        return torch.rand(n, 1, 32, 32, generator=generator)


def arrays_in_the_process() -> list:
    """What a plugin that walks the garbage collector finds: copies of every image-like
    array (plain tensors and arrays; subclasses such as parameters are a model's own)."""
    return [obj.clone() if type(obj) is torch.Tensor else obj.copy()
            for obj in gc.get_objects()
            if type(obj) in (torch.Tensor, np.ndarray) and obj.ndim >= 3]


class SnoopPlugin:
    @hookimpl
    def register_methods(self, register):
        register(Snoop)


SKIP = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type,
        types.MethodType)


def reachable_tensors(*roots: object, limit: int = 2_000_000) -> list[torch.Tensor]:
    """Every tensor reachable from `roots` through object references (modules excluded).

    Fails, rather than stopping silently, if the walk would exceed `limit` objects.
    """
    seen: set[int] = set()
    stack = list(roots)
    tensors = []
    while stack:
        assert len(seen) < limit, f"walked {limit} objects without finishing; raise the limit"
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, SKIP):
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            tensors.append(obj)
            continue
        stack.extend(gc.get_referents(obj))
    return tensors


def test_method_cannot_reach_the_test_split(runner, make_tiny_host, tiny_args,
                                            monkeypatch) -> None:
    built: dict[str, Any] = {}
    real_to_split = run_module.to_split

    def spying_to_split(name, *args, **kwargs):
        built[name] = real_to_split(name, *args, **kwargs)
        return built[name]

    monkeypatch.setattr(run_module, "to_split", spying_to_split)
    SEEN.clear()
    result = runner.invoke(app, tiny_args("snoop"), obj=make_tiny_host(SnoopPlugin()))
    assert result.exit_code == 0, result.output

    method, train, val, context = SEEN["fit"]
    assert (train.name, val.name) == ("train", "val")
    test_storages = {tensor.untyped_storage().data_ptr()
                     for tensor in built["test"].tensors.values()}
    reachable = reachable_tensors(method, train, val, context, SEEN["sample"])
    assert len(reachable) >= 4  # the search does see the tensors it was given
    leaked = [t for t in reachable if t.untyped_storage().data_ptr() in test_storages]
    assert leaked == [], "the method could reach the test split"
    # The images it was given are not the test images under another name either.
    assert not any(torch.equal(built["test"]["image"][:8], t[:8]) for t in (train["image"],
                                                                             val["image"]))
    # Nor is the test split anywhere in the process while the method trains or samples: not
    # as the stored arrays, not as tensors at the run's size.
    stored = TinyPhantom().build(Path("unused"))["test"]["image"]
    test_images = built["test"]["image"]
    found = [obj for obj in SEEN["gc"] if tuple(obj.shape[-2:]) == tuple(stored.shape[-2:])]
    assert found, "the search does see the arrays in the process"
    for obj in found:
        array = obj.numpy() if isinstance(obj, torch.Tensor) else obj
        assert not any(np.array_equal(array.reshape(-1, *stored.shape[1:])[:1], image[None])
                       for image in stored[:4]), "the stored test images were in the process"
        if isinstance(obj, torch.Tensor) and obj.dtype == test_images.dtype:
            assert not any(torch.equal(obj.reshape(-1, *test_images.shape[1:])[:1],
                                       image[None]) for image in test_images[:4])
    # Sampling gets a count, no labels (unconditional) and a generator: nothing else.
    assert all(labels is None for _, labels, _ in SEEN["sample"])


class SplitReader(SynthesisMethod):
    """Reads the test split behind the harness's back (here by regenerating the phantom, as
    a plugin can) and returns its images as its own: a cheat that wins every distance."""

    name: ClassVar[str] = "test-reader"
    summary: ClassVar[str] = "returns test images"

    def fit(self, train, val, context):
        stolen = TinyPhantom().build(Path("unused"))["test"]["image"]
        self.stolen = torch.as_tensor(stolen, dtype=torch.float32)[:, None] / 255
        context.count_images(len(train))

    def sample(self, n, labels, generator):
        return self.stolen[torch.arange(n) % len(self.stolen)]


class SplitReaderPlugin:
    @hookimpl
    def register_methods(self, register):
        register(SplitReader)


def test_a_method_that_returns_test_images_is_flagged_and_left_unranked(
        runner, make_tiny_host, tiny_args, tmp_path: Path) -> None:
    host = make_tiny_host(SplitReaderPlugin())
    for method in ("test-reader", "gaussian"):
        result = runner.invoke(app, tiny_args(method, "--metrics", "fd_randcnn,test_copies"),
                               obj=host)
        assert result.exit_code == 0, result.output
    records = {record["method"]["name"]: record for record in (
        json.loads(path.read_text()) for path in (tmp_path / "runs").glob("*/record.json"))}
    cheat, honest = records["test-reader"], records["gaussian"]
    assert cheat["metrics"]["test_copies"]["value"] == 1.0
    assert cheat["metrics"]["test_copies"]["details"]["flagged"] is True
    assert honest["metrics"]["test_copies"]["details"]["flagged"] is False
    # It wins the distance, which is why the audit exists ...
    assert cheat["metrics"]["fd_randcnn"]["value"] < honest["metrics"]["fd_randcnn"]["value"]
    # ... and the table marks it and ranks only the honest run.
    [board] = build_leaderboards(records.values(), {"synthesis": "fd_randcnn"})
    rows = {row.method: row for row in board.rows}
    assert rows["test-reader"].label == "test-reader (test copies)"
    assert rows["test-reader"].rank is None and rows["gaussian"].rank == 1
    assert any("near-copies of test images" in note for note in board.notes)


class SnoopTranslator(ImageToImageMethod):
    """Keeps what the process holds while it translates, for the test to search."""

    name: ClassVar[str] = "snoop-translator"
    summary: ClassVar[str] = "records what the process holds"

    def fit(self, train, val, context):
        for _ in context.batches(train, 4, fields="source"):
            pass

    def translate(self, source):
        SEEN["answering"] = SEEN.get("answering", []) + arrays_in_the_process()
        return source.clamp(0, 1)


class SnoopScorer(AnomalyMethod):
    name: ClassVar[str] = "snoop-scorer"
    summary: ClassVar[str] = "records what the process holds"

    def fit(self, train, val, context):
        for _ in context.batches(train, 4):
            pass

    def score(self, images):
        SEEN["answering"] = SEEN.get("answering", []) + arrays_in_the_process()
        return images.mean((1, 2, 3)), None


class AnsweringSnoops:
    @hookimpl
    def register_methods(self, register):
        register(SnoopTranslator)
        register(SnoopScorer)


@pytest.mark.parametrize("method,task,dataset,truth", [
    ("snoop-translator", "translation", TinyBrain(), "ct"),
    ("snoop-scorer", "anomaly", TinyPhantom(), "mask"),
])
def test_the_truth_is_not_in_the_process_while_a_method_answers(
        runner, make_host, tiny_args, method: str, task: str, dataset, truth: str) -> None:
    SEEN.clear()
    host = make_host(TinyDatasetPlugin(), TinyPairsPlugin(), AnsweringSnoops())
    result = runner.invoke(app, [*tiny_args(method), "--task", task, "--dataset",
                                 dataset.name], obj=host)
    assert result.exit_code == 0, result.output
    stored = dataset.build(Path("unused"))["test"]
    truths = [stored[truth], run_module.to_split("test", stored, dataset, 32)[truth].numpy()]
    found = [obj.numpy() if isinstance(obj, torch.Tensor) else obj for obj in SEEN["answering"]]
    assert found, "the search does see the arrays in the process"
    for array in found:
        for known in truths:
            if array.shape[-2:] == known.shape[-2:] and array.dtype == known.dtype:
                first = array.reshape(-1, *known.shape[1:])[:1]
                assert not any(np.array_equal(first, case[None]) for case in known[:4]), \
                    f"the test split's {truth} was in the process while the method answered"
