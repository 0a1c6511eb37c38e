"""A finished run's images, drawn again from its checkpoint: what a reader study shows.

The method is rebuilt exactly as `medbench evaluate` rebuilds it (the checkpoint's own
`needs`, so a per-class checkpoint gets the per-class protocol), asked through the task's
own evaluation, and the real side is whatever that task compares its images with (the test
split's images for synthesis, targets for image-to-image, lesion patches for lesion
synthesis). Sampling is seeded by the run's seed, so the same run gives the same images.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from medbench.api.errors import ConfigError
from medbench.api.progress import Progress
from medbench.api.seeding import derived_generator
from medbench.api.synthesis import GeneratedImages
from medbench.api.task import EvalSplits
from medbench.host.manager import Registries
from medbench.record.spec import RunSpec
from medbench.run.artifacts import CHECKPOINT
from medbench.run.data import load_dataset, to_split
from medbench.run.feature_cache import ReferenceFeatureCache
from medbench.run.runner import eval_context, plan_run


@dataclass(frozen=True)
class RunImages:
    real: torch.Tensor  # (N, C, H, W) in [0, 1]: what the task compares the method's with
    generated: torch.Tensor  # (n, C, H, W) in [0, 1], sampled from the checkpoint


def images_of_run(folder: Path, spec: RunSpec, registries: Registries, n: int,
                  progress: Progress, data_dir: Path | None = None,
                  offline: bool = False) -> RunImages:
    """`n` images from the run's checkpoint and the real images of its comparison.

    ConfigError when the run kept no checkpoint or its task produces no images."""
    checkpoint = folder / CHECKPOINT
    if not checkpoint.is_file():
        raise ConfigError(f"{folder} has no {CHECKPOINT}: only runs that finished training "
                          f"can be shown to readers")
    # Metrics are not computed here: the task defaults stand in for the recorded ones,
    # whose options (a weights path, say) may not hold on this machine.
    spec = dataclasses.replace(spec, checkpoint=str(checkpoint), device="cpu", metrics=None,
                               metric_options={})
    with tempfile.TemporaryDirectory() as scratch:
        plan = plan_run(spec, registries, Path(scratch), data_dir=data_dir, offline=offline)
    if not issubclass(plan.task.inputs, GeneratedImages):
        raise ConfigError(f"task '{plan.task.name}' of {folder} produces no images to judge "
                          f"(its metrics read {plan.task.inputs.__name__})")
    notices: list[str] = []
    arrays, split_infos = load_dataset(plan.dataset, plan.cache_dir / "datasets", notices,
                                       plan.files)
    size = plan.budget.image_size
    splits = {name: to_split(name, split, plan.dataset, size) for name, split in arrays.items()}
    train, val = plan.task.fit_data(splits["train"], splits["val"],
                                    derived_generator(spec.seed, "fit-data"), plan.method_cls)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    method = plan.task.prepare_method(plan.method_cls, plan.config, train.info, plan.device,
                                      frozenset(state.get("needs", [])))
    method.load_state_dict(state["state_dict"])
    context = eval_context(plan, split_infos,
                           ReferenceFeatureCache(plan.cache_dir / "reference-features"),
                           progress, n)
    predictions = plan.task.evaluate(method, EvalSplits(splits["train"], splits["val"],
                                                        lambda: splits["test"]), context)
    inputs = predictions.inputs
    assert isinstance(inputs, GeneratedImages)
    return RunImages(inputs.real_images.float().clamp(0, 1),
                     inputs.generated.float().clamp(0, 1))
