"""The per-class protocol: one instance of an unconditional method per class.

Frid-Adar et al. (2018) trained one DCGAN per liver-lesion class to obtain labelled
synthetic lesions. medbench does the same whenever a selected metric needs labelled
synthetic images (e.g. the downstream classifier gain) and the method cannot be asked for a
class. The run's budget is split across the classes in proportion to their train counts, so
the total never exceeds it; the record lists each class's share and use.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext
from medbench.tasks.samples import check_samples


def proportional_shares(total: int, counts: list[int]) -> list[int]:
    """`total` split in proportion to `counts`, in whole images that sum to `total`
    (largest remainders get the leftover images)."""
    weight = sum(counts)
    if weight <= 0:
        raise ValueError("no class has training samples")
    exact = [total * count / weight for count in counts]
    shares = [int(value) for value in exact]
    leftover = total - sum(shares)
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares


class PerClass(SynthesisMethod):
    """Wraps an unconditional synthesis method; conditional from the harness's side."""

    name: ClassVar[str] = "per-class"
    summary: ClassVar[str] = "one instance of an unconditional method per class"
    conditional: ClassVar[bool] = True

    def __init__(self, method_cls: type[SynthesisMethod], config: Any, data: DataInfo,
                 device: torch.device) -> None:
        super().__init__(config, data, device)
        self.method_name = method_cls.name
        self.class_names = data.class_names
        if len(self.class_names) < 2:
            raise ValueError("the per-class protocol needs a label field with classes")
        self.instances = [method_cls(config, data, device) for _ in self.class_names]
        self.trained: list[bool] = [False] * len(self.class_names)
        self.adaptation = (f"per-class protocol: one '{method_cls.name}' per class, each "
                           f"trained on its class's train images with a share of the budget "
                           f"proportional to its train count (Frid-Adar et al. 2018)")

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        counts = torch.bincount(train["label"], minlength=len(self.class_names)).tolist()
        shares = proportional_shares(context.remaining_images, counts)
        for index, (name, count, share) in enumerate(zip(self.class_names, counts, shares,
                                                         strict=True)):
            if count == 0:
                continue
            part = context.part(name, share, count)
            self.instances[index].fit(train.subset(train["label"] == index),
                                      val.subset(val["label"] == index), part)
            self.trained[index] = True

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert labels is not None
        out = torch.empty(n, self.data.channels, self.data.image_size, self.data.image_size)
        for index in labels.unique().tolist():
            if not self.trained[index]:
                raise ValueError(f"class '{self.class_names[index]}' had no training images")
            where = labels == index
            count = int(where.sum())
            images = self.instances[index].sample(count, None, generator)
            check_samples(self.method_name, images, count, tuple(out.shape[1:]))
            out[where] = images.detach().float().cpu()
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"per_class": {name: instance.state_dict() for name, instance, trained
                              in zip(self.class_names, self.instances, self.trained,
                                     strict=True) if trained}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for index, name in enumerate(self.class_names):
            if name in state["per_class"]:
                self.instances[index].load_state_dict(state["per_class"][name])
                self.trained[index] = True
