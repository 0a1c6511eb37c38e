"""Abnormality detection: learn from normal images only, then score a test split that mixes
normal and abnormal images.

The harness keeps the protocol honest: `fit` gets the normal images of the train and val
splits and the `image` field alone (no label, no mask), and `score` gets unlabelled test
images. Scores and maps reach the metrics exactly as the method returned them.
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch

from medbench.api import (
    SCORE_CHUNK,
    AnomalyInputs,
    AnomalyMethod,
    DatasetSpec,
    EvalContext,
    EvalSplits,
    Method,
    MetricInputs,
    Panel,
    Predictions,
    Split,
    Task,
    hookimpl,
)
from medbench.tasks.samples import PANEL_CASES, SampleError, as_rgb, check_samples

PREVIEW_IMAGES = 12  # image, anomaly map, lesion mask: two triples per row of the grid


class AnomalyTask(Task):
    name: ClassVar[str] = "anomaly"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("Train on normal slices only, then flag the slices with lesions "
                              "(and their pixels): AUROC, AUPRC, sensitivity at 95 % "
                              "specificity, pixel AUROC, best Dice")
    default_dataset: ClassVar[str] = "phantom"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "label")
    method_protocol: ClassVar[type[Method]] = AnomalyMethod
    inputs: ClassVar[type[MetricInputs]] = AnomalyInputs
    lesion_value: ClassVar[str] = "lesion"  # the mask value that marks a finding's pixels
    primary_metric: ClassVar[str | None] = "image_auroc"
    # Sized from measured throughput on a 2-core CPU (leaderboards/evidence.md): at 64 px
    # no method learnt normal anatomy well enough within two minutes to beat chance clearly
    # (image AUROC 0.55-0.67 after 48,000 images); at 32 px a step costs a quarter, lesions
    # keep about 27 pixels; 128,000 images took 35-100 s. Halved to 64,000 (32 passes over the
    # 2,000 normal slices) so that the reference leaderboard fits in an hour
    # (leaderboards/README.md). All 1,500 test images (600 normal) are scored.
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {
        "smoke": {"image_size": 32, "train_images": 64_000, "eval_samples": 1500}}

    def dataset_problem(self, dataset: DatasetSpec) -> str | None:
        problem = super().dataset_problem(dataset)
        if problem:
            return problem
        if dataset.normal_class is None:
            return "it declares no normal class (normal_class), so normal images are unknown"
        return None

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """Normal images only, and nothing but the image."""
        return normal_images(train), normal_images(val)

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, AnomalyMethod)
        # The method scores the images alone: labels and masks are read afterwards.
        asked = splits.test_inputs("image")
        cases = torch.arange(min(context.num_samples, len(asked)))
        images = asked.subset(cases)["image"]
        del asked
        tick = time.perf_counter()
        scores, maps = self._score(method, images, context)
        seconds = round(time.perf_counter() - tick, 3)
        test = splits.test.subset(cases)
        names = test.info.class_names
        labels = test["label"].long()
        lesions = self.lesions(test)
        inputs = AnomalyInputs(scores, labels != names.index(test.info.normal_class),
                               tuple(names[i] for i in labels.tolist()), maps, lesions,
                               seconds, context)
        return Predictions(inputs, preview=preview(test["image"], maps, lesions),
                           predict_seconds=seconds,
                           panel=anomaly_panel(test["image"], labels, names.index(
                               test.info.normal_class), maps, lesions))

    def lesions(self, split: Split) -> torch.Tensor | None:
        """(N, H, W) bool pixels of the finding, or None where the dataset marks none."""
        if "mask" not in split or self.lesion_value not in split.info.field("mask").value_names:
            return None
        value = split.info.field("mask").value_names.index(self.lesion_value)
        return split["mask"][:, 0] == value

    def _score(self, method: AnomalyMethod, images: torch.Tensor,
               context: EvalContext) -> tuple[torch.Tensor, torch.Tensor | None]:
        scores, maps = [], []
        with context.progress.bar("score", total=len(images)) as bar:
            for start in range(0, len(images), SCORE_CHUNK):
                batch = images[start : start + SCORE_CHUNK]
                chunk_scores, chunk_maps = unpack(method.name, method.score(
                    batch.to(context.device)))
                check_samples(method.name, chunk_scores, len(batch), (),
                              what="anomaly scores", unit_range=False)
                if chunk_maps is not None:
                    check_samples(method.name, chunk_maps, len(batch), (1, *batch.shape[2:]),
                                  what="anomaly maps", unit_range=False)
                    maps.append(chunk_maps.detach().float().cpu()[:, 0])
                scores.append(chunk_scores.detach().double().cpu())
                if maps and len(maps) != len(scores):
                    raise SampleError(f"method '{method.name}' returned anomaly maps for some "
                                      f"chunks and None for others; return maps always or "
                                      f"never")
                bar.advance(len(batch))
        return torch.cat(scores), (torch.cat(maps) if maps else None)


def normal_images(split: Split) -> Split:
    """The split's normal samples, with the `image` field alone."""
    normal = split.info.class_names.index(split.info.normal_class)
    return split.subset(split["label"] == normal).select("image")


def unpack(method: str, result: object) -> tuple[object, object]:
    """`score`'s (scores, maps) pair, or SampleError saying what came back instead."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise SampleError(f"method '{method}' returned {type(result).__name__} from score(), "
                          f"expected a pair (scores, maps or None)")
    return result


def anomaly_panel(images: torch.Tensor, labels: torch.Tensor, normal: int,
                  maps: torch.Tensor | None, lesions: torch.Tensor | None) -> Panel:
    """The first normal and the first abnormal test cases (half each): image, score map
    (scaled by the shown maps' range) and true lesion mask."""
    half = PANEL_CASES // 2
    chosen = torch.cat([(labels == normal).nonzero().flatten()[:half],
                        (labels != normal).nonzero().flatten()[:half]])
    shown = preview(images[chosen], None if maps is None else maps[chosen],
                    None if lesions is None else lesions[chosen])
    n_normal = int((labels[chosen] == normal).sum())
    what = "score map" if maps is not None else "no score map (the method gives none)"
    return Panel(shown, 3, f"rows: the first {n_normal} normal, then the first "
                           f"{len(chosen) - n_normal} abnormal test cases, the same for every "
                           f"method; columns: image | {what} | true lesion mask")


def preview(images: torch.Tensor, maps: torch.Tensor | None,
            lesions: torch.Tensor | None) -> torch.Tensor:
    """Image, anomaly map and lesion mask per row. Maps are scaled by the shown maps' own
    range, for display only: the metrics read them raw."""
    n = min(PREVIEW_IMAGES, len(images))
    shown = maps[:n] if maps is not None else torch.zeros(n, *images.shape[2:])
    low, high = float(shown.min()), float(shown.max())
    shown = (shown - low) / (high - low) if high > low else torch.zeros_like(shown)
    truth = lesions[:n].float() if lesions is not None else torch.zeros_like(shown)
    rows = []
    for i in range(n):
        rows += [as_rgb(images[i]), as_rgb(shown[i][None]), as_rgb(truth[i][None])]
    return torch.stack(rows)


@hookimpl
def register_tasks(register) -> None:
    register(AnomalyTask())
