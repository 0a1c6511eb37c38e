"""Intra-class FD: the mean over classes of pytorch-fid's Fréchet distance between each
class's real and generated features; and end to end through the per-class protocol."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from medbench.api import FeatureSpace, MetricUnavailable, NoOptions
from medbench.cli import app
from medbench.metrics.intra_class import IntraClassFD

CLASSES = ("cyst", "metastasis", "hemangioma")


class PassThrough:
    """Features are the inputs themselves: the metric's arithmetic alone is under test."""

    name = "given"

    def describe(self) -> dict:
        return {"extractor": "given"}


@dataclass
class GivenFeatures:
    real_features: torch.Tensor
    fake_features: torch.Tensor
    real_labels: torch.Tensor
    generated_labels: torch.Tensor | None

    def features(self, extractor):
        return self.real_features, self.fake_features

    @property
    def real(self):
        return {"label": self.real_labels}

    @property
    def context(self):
        return SimpleNamespace(data=SimpleNamespace(class_names=list(CLASSES)))


def class_clouds(seed: int, d: int = 16):
    """Three classes with their own means and spreads; the generator gets class 2 wrong."""
    rng = np.random.default_rng(seed)
    real, fake, real_labels, fake_labels = [], [], [], []
    for c, (n_real, n_fake) in enumerate(((120, 100), (60, 80), (25, 30))):
        centre = rng.standard_normal(d) * 2
        real.append(centre + rng.standard_normal((n_real, d)) * (1 + c))
        shift = 3.0 if c == 2 else 0.2
        fake.append(centre + shift + rng.standard_normal((n_fake, d)) * (1 + c) * 1.1)
        real_labels += [c] * n_real
        fake_labels += [c] * n_fake
    return (np.concatenate(real), np.concatenate(fake), np.array(real_labels),
            np.array(fake_labels))


SPACE = FeatureSpace("given", "given features", NoOptions, lambda options: PassThrough(),
                     default=False, cost="cheap")


@pytest.mark.parametrize("seed", [0, 1])
def test_intra_class_fd_is_the_mean_of_pytorch_fids_per_class_distances(seed: int) -> None:
    real, fake, real_labels, fake_labels = class_clouds(seed)
    inputs = GivenFeatures(torch.from_numpy(real), torch.from_numpy(fake),
                           torch.from_numpy(real_labels), torch.from_numpy(fake_labels))
    score = IntraClassFD(SPACE).compute(inputs, NoOptions())
    expected = {}
    for c, name in enumerate(CLASSES):
        a, b = real[real_labels == c], fake[fake_labels == c]
        expected[name] = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                                    b.mean(0), np.cov(b, rowvar=False))
    for name in CLASSES:
        assert score.details["per_class"][name] == pytest.approx(expected[name], rel=1e-6)
    assert score.value == pytest.approx(np.mean(list(expected.values())), rel=1e-6)
    assert max(expected, key=expected.get) == "hemangioma"  # the class it got wrong
    assert score.n_samples["real_hemangioma"] == 25
    assert score.n_samples["generated_hemangioma"] == 30


def test_unlabelled_samples_or_an_empty_class_are_unavailable_with_the_reason() -> None:
    real, fake, real_labels, fake_labels = class_clouds(0)
    inputs = GivenFeatures(torch.from_numpy(real), torch.from_numpy(fake),
                           torch.from_numpy(real_labels), None)
    with pytest.raises(MetricUnavailable, match="no class labels"):
        IntraClassFD(SPACE).compute(inputs, NoOptions())
    inputs.generated_labels = torch.from_numpy(np.where(fake_labels == 2, 0, fake_labels))
    with pytest.raises(MetricUnavailable, match="hemangioma has fewer than 2"):
        IntraClassFD(SPACE).compute(inputs, NoOptions())


def test_an_unconditional_method_runs_the_per_class_protocol_for_it(runner, host, tiny_args,
                                                                    tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "fd_randcnn,intra_fd_randcnn"),
                           obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    entry = record["metrics"]["intra_fd_randcnn"]
    assert entry["status"] == "ok", entry
    per_class = entry["details"]["per_class"]
    assert set(per_class) == {"normal", "cyst", "metastasis", "hemangioma"}
    assert entry["value"] == pytest.approx(sum(per_class.values()) / len(per_class))
    assert record["method"]["adaptation"].startswith("per-class protocol")
