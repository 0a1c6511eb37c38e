"""Lesion synthesis: a lesion of a requested class, painted into a healthy slice inside a
requested mask (its location, size and shape), the rest of the slice left as it was.

What each side sees:
- `fit` gets lesion slices as pairs: the slice without its lesion (``healthy``), the same
  slice with it (``image``), the lesion's mask, the organ's mask and the lesion's class.
  A dataset with a ``healthy`` field (the phantom renders each slice both ways) gives true
  pairs. On real CT no slice exists both ways, so the task makes the healthy slice itself:
  the lesion, grown by one pixel, is filled with the median of the organ around it
  (`fill_lesion`). The method then learns to paint lesions into such fills, and the
  identity floor returns the fill; docs/tasks.md says so beside every real-data table.
- At evaluation the method is asked for a lesion at each test case: the typical cases are
  the test lesions as they are (mask, class, and the real slice to compare with); the rare
  cases move or rescale those masks where lesions are rare in training: on the organ's
  border, at half the size, and at 1.8 times the size (groups in GROUPS). The rare cases
  are the same for every method and seed (a fixed generator), and are scored apart.
- For the downstream arms the method also paints lesions into the train split's healthy
  slices, each with the mask and class of another train lesion that fits inside its organ.
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch
import torch.nn.functional as F

from medbench.api import (
    GROUPS,
    INPAINT_CHUNK,
    DataInfo,
    EvalContext,
    EvalSplits,
    Field,
    LesionInputs,
    LesionSynthesisMethod,
    Method,
    MetricInputs,
    Panel,
    Predictions,
    Split,
    Task,
    centroids,
    grow,
    hookimpl,
    lesion_patches,
)
from medbench.tasks.samples import check_samples, columns_panel

LESION_VALUE = "lesion"  # the mask value that marks lesions
ORGAN_VALUE = "liver"  # the mask value of the organ the lesions belong to
MIN_LESION_PIXELS = 4  # at the run's size: fewer is not a lesion slice
SMALL_SCALE, LARGE_SCALE = 0.5, 1.8
FILL_RING = 3  # pixels around the lesion whose organ median fills it (real data)
CASES_SEED = 20261201  # the rare placements: the same for every method and seed
INSIDE_ORGAN = 0.9  # share of a donor mask that must fall in the organ (downstream arms)
PANEL_ROWS = 6
# A 2-core CPU trains the width-16 inpainting U-Net at ~200 img/s at 64x64 (pix2pix's
# measured speed at this size and width), so 8,000 images take under a minute.
SMOKE = {"image_size": 64, "train_images": 8_000, "eval_samples": 300}
STANDARD = {"eval_samples": 600}


class LesionSynthesisTask(Task):
    name: ClassVar[str] = "lesion-synthesis"
    version: ClassVar[str] = "1.0"
    summary: ClassVar[str] = ("A lesion of a requested class inside a requested mask of a "
                              "healthy slice; realism, condition fidelity, context, downstream")
    default_dataset: ClassVar[str] = "phantom-lesions"
    required_fields: ClassVar[tuple[str, ...]] = ("image", "label", "mask")
    method_protocol: ClassVar[type[Method]] = LesionSynthesisMethod
    inputs: ClassVar[type[MetricInputs]] = LesionInputs
    primary_metric: ClassVar[str | None] = "lesion_dice"  # condition fidelity
    budget_overrides: ClassVar[dict[str, dict[str, int]]] = {"smoke": SMOKE,
                                                              "standard": STANDARD}

    def dataset_problem(self, dataset) -> str | None:
        problem = super().dataset_problem(dataset)
        if problem:
            return problem
        fields = {field.name: field for field in dataset.fields}
        values = fields["mask"].value_names
        missing = [name for name in (LESION_VALUE, ORGAN_VALUE) if name not in values]
        if missing:
            return (f"its mask names no {' or '.join(repr(m) for m in missing)} value (it "
                    f"has {', '.join(values) or 'no names'})")
        if "healthy" in fields and fields["healthy"].kind != "image":
            return "its 'healthy' field is not an image"
        if not lesion_classes(fields["label"].value_names, dataset.normal_class):
            return "its label field names no lesion class"
        return None

    def fit_data(self, train: Split, val: Split, generator: torch.Generator,
                 method_cls: type[Method]) -> tuple[Split, Split]:
        """Lesion slices only, as (healthy, image, lesion, organ, label) pairs."""
        fields = ("healthy", "image", "lesion", "organ", "label")
        return (lesion_pairs(train, with_target=True).select(*fields),
                lesion_pairs(val, with_target=True).select(*fields))

    def evaluate(self, method: Method, splits: EvalSplits, context: EvalContext) -> Predictions:
        assert isinstance(method, LesionSynthesisMethod)
        # With a healthy field the method answers before the lesion slices are read; on
        # real data its input is made from them (the fill), which cannot be hidden.
        given = "healthy" if "healthy" in splits.train else "image"
        asked = lesion_pairs(splits.test_inputs(given, "mask", "label"), with_target=False)
        typical = min(context.num_samples, len(asked))
        if typical == 0:
            raise ValueError("the test split holds no lesion slice at this image size")
        cases = placement_cases(asked, typical)
        generator = context.generator("inpaint")
        tick = time.perf_counter()
        output = self._inpaint(method, cases["healthy"], cases["lesion"], cases["label"],
                               generator, context, "inpaint test cases")
        predict_seconds = round(time.perf_counter() - tick, 3)
        train = lesion_pairs(splits.train, with_target=True)
        donors = augmentation_cases(train)
        synthetic = self._inpaint(method, train["healthy"], donors["lesion"], donors["label"],
                                  generator, context, "inpaint train slices")
        kept = asked["row"][:typical]
        del asked
        real = splits.test["image"][kept]  # the typical cases' own lesion slices
        size = train.image_size
        patch = max(16, size // 2)
        requested = cases["lesion"].bool()
        inputs = LesionInputs(
            healthy=cases["healthy"], output=output, requested=requested,
            organ=cases["organ"].bool(), labels=cases["label"], groups=cases["group"],
            real=real, real_patches=lesion_patches(real, requested[:typical], patch),
            generated_patches=lesion_patches(output[:typical], requested[:typical], patch),
            train=train,
            synthetic=synthetic, synthetic_lesion=donors["lesion"].bool(),
            synthetic_labels=donors["label"], class_names=train.info.class_names,
            value_range=train.info.field("image").value_range or (0.0, 1.0),
            units=train.info.field("image").units, patch_size=patch, context=context)
        return Predictions(inputs, preview=output[: 4 * 8], predict_seconds=predict_seconds,
                           panel=panel(cases, output, real))

    @staticmethod
    def _inpaint(method: LesionSynthesisMethod, healthy: torch.Tensor, lesion: torch.Tensor,
                 labels: torch.Tensor, generator: torch.Generator, context: EvalContext,
                 what: str) -> torch.Tensor:
        chunks: list[torch.Tensor] = []
        device = context.device
        with context.progress.bar(what, total=len(healthy)) as bar, torch.no_grad():
            for start in range(0, len(healthy), INPAINT_CHUNK):
                end = start + INPAINT_CHUNK
                images = method.inpaint(healthy[start:end].to(device),
                                        lesion[start:end].float().to(device),
                                        labels[start:end].to(device), generator)
                batch = healthy[start:end]
                check_samples(method.name, images, len(batch), tuple(batch.shape[1:]),
                              what="inpainted slices")
                chunks.append(images.detach().float().cpu().clamp_(0.0, 1.0))
                bar.advance(len(batch))
        return torch.cat(chunks)


def lesion_classes(names: tuple[str, ...], normal: str | None) -> tuple[str, ...]:
    return tuple(name for name in names if name != normal)


def lesion_pairs(split: Split, with_target: bool) -> Split:
    """The split's lesion slices in the method's fields; ``row`` keeps each one's index in
    the split. Without `with_target`, no ``image`` field (it is the answer)."""
    info = split.info
    values = info.field("mask").value_names
    label_field = info.field("label")
    classes = lesion_classes(label_field.value_names, info.normal_class)
    mask = split["mask"]
    lesion = mask == values.index(LESION_VALUE)
    organ = (mask == values.index(ORGAN_VALUE)) | lesion
    has_class = split["label"] >= 0
    if info.normal_class is not None:
        has_class &= split["label"] != label_field.value_names.index(info.normal_class)
    keep = ((lesion.flatten(1).sum(1) >= MIN_LESION_PIXELS) & has_class).nonzero().flatten()
    lesion, organ = lesion[keep], organ[keep]
    labels = split["label"][keep]
    if info.normal_class is not None:  # class indices among the lesion classes
        normal = label_field.value_names.index(info.normal_class)
        labels = labels - (labels > normal).long()
    if "healthy" in split:
        healthy = split["healthy"][keep]
    else:
        healthy = fill_lesion(split["image"][keep], lesion, organ)
    tensors = {"healthy": healthy, "lesion": lesion.to(torch.uint8),
               "organ": organ.to(torch.uint8), "label": labels, "row": keep}
    image_field = info.field("image" if "image" in info.fields else "healthy")
    fields = {
        "healthy": Field("healthy", "image", image_field.dtype, image_field.channels,
                         image_field.value_range, image_field.units, image_field.window,
                         description="the slice without its lesion"),
        "lesion": Field("lesion", "mask", "uint8", value_names=("background", "lesion"),
                        description="where the lesion is (or must be)"),
        "organ": Field("organ", "mask", "uint8", value_names=("background", ORGAN_VALUE),
                       description="the organ that holds the lesion, lesion included"),
        "label": Field("label", "label", "int64", value_names=classes,
                       description="the lesion's class"),
        "row": Field("row", "scalar", "int64", description="index in the dataset's split"),
    }
    if with_target:
        tensors["image"] = split["image"][keep]
        fields["image"] = Field("image", "image", image_field.dtype, image_field.channels,
                                image_field.value_range, image_field.units,
                                image_field.window, description="the slice with its lesion")
    return Split(split.name, tensors, DataInfo(info.image_size, fields, info.pixel_spacing_mm))


def fill_lesion(image: torch.Tensor, lesion: torch.Tensor, organ: torch.Tensor) -> torch.Tensor:
    """Real data's stand-in for a healthy slice: the lesion grown by one pixel, filled with
    the median of the organ's pixels in a ring of FILL_RING pixels around it (the whole
    organ's, or the slice's, median where the ring holds none)."""
    grown = grow(lesion, 1)
    ring = grow(grown, FILL_RING) & ~grown & organ
    filled = image.clone()
    for i in range(len(image)):
        for pool in (ring[i, 0], organ[i, 0] & ~grown[i, 0], torch.ones_like(ring[i, 0])):
            if pool.any():
                values = image[i][:, pool].median(dim=1).values
                break
        filled[i] = torch.where(grown[i], values[:, None, None], image[i])
    return filled


def placement_cases(asked: Split, typical: int) -> dict[str, torch.Tensor]:
    """The typical cases (the first `typical` test lesions) and, from the same slices, the
    rare ones: every third slice's mask moved to the organ's border, scaled to half or to
    1.8 times its size. A rare mask that would be empty is left out."""
    base = asked.subset(torch.arange(typical))
    generator = torch.Generator().manual_seed(CASES_SEED)
    parts = [{"healthy": base["healthy"], "lesion": base["lesion"], "organ": base["organ"],
              "label": base["label"], "group": torch.zeros(typical, dtype=torch.long)}]
    for offset, group in enumerate(GROUPS[1:]):
        index = torch.arange(offset, typical, 3)
        if len(index) == 0:
            continue
        lesion, organ = base["lesion"][index].bool(), base["organ"][index].bool()
        if group == "border":
            moved = to_border(lesion, organ, generator)
        else:
            moved = scaled(lesion, SMALL_SCALE if group == "small" else LARGE_SCALE) & organ
        ok = moved.flatten(1).sum(1) >= 1
        index = index[ok]
        parts.append({"healthy": base["healthy"][index], "lesion": moved[ok].to(torch.uint8),
                      "organ": base["organ"][index], "label": base["label"][index],
                      "group": torch.full((len(index),), GROUPS.index(group))})
    return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}


def scaled(mask: torch.Tensor, factor: float) -> torch.Tensor:
    """(N, 1, H, W) bool masks scaled by `factor` about their centroids (nearest)."""
    n, _, h, w = mask.shape
    cy, cx = centroids(mask)
    # affine_grid's normalised coordinates: pixel centre p <-> (2p + 1) / size - 1.
    ny, nx = (2 * cy + 1) / h - 1, (2 * cx + 1) / w - 1
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / factor
    theta[:, 0, 2], theta[:, 1, 2] = nx * (1 - 1 / factor), ny * (1 - 1 / factor)
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    return F.grid_sample(mask.float(), grid, mode="nearest", align_corners=False) > 0.5


def to_border(mask: torch.Tensor, organ: torch.Tensor, generator: torch.Generator,
              ) -> torch.Tensor:
    """Each mask moved so that its centroid lies on an organ pixel within half the lesion's
    radius of the organ's edge (the edge itself only where no such pixel exists), drawn
    from `generator`, then cut by the organ (as lesions are)."""
    out = torch.zeros_like(mask)
    cy, cx = centroids(mask)
    h, w = mask.shape[-2:]
    for i in range(len(mask)):
        inner = organ[i : i + 1]
        border = inner & ~(-F.max_pool2d(-inner.float(), 3, stride=1, padding=1) > 0.5)
        radius = float(mask[i].sum()) ** 0.5 / 1.7725  # sqrt(area / pi)
        depth = (grow(~inner, max(1, round(radius / 2))) & inner)  # within r/2 of border
        candidates = (depth & ~border)[0, 0].nonzero()
        if len(candidates) == 0:
            candidates = border[0, 0].nonzero()
        if len(candidates) == 0:
            continue
        y, x = candidates[int(torch.randint(len(candidates), (1,), generator=generator))]
        dy, dx = int(y) - round(float(cy[i])), int(x) - round(float(cx[i]))
        moved = torch.zeros_like(mask[i, 0])
        ys, xs = mask[i, 0].nonzero(as_tuple=True)
        ys, xs = ys + dy, xs + dx
        inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        moved[ys[inside], xs[inside]] = True
        out[i, 0] = moved & inner[0, 0]
    return out


def augmentation_cases(train: Split) -> dict[str, torch.Tensor]:
    """For each train slice, the mask and class of another train lesion (a fixed
    permutation) where at least INSIDE_ORGAN of it falls in this slice's organ; its own
    lesion's otherwise. Outside the organ, a mask is cut by it."""
    generator = torch.Generator().manual_seed(CASES_SEED + 1)
    donor = torch.randperm(len(train), generator=generator)
    lesion, organ = train["lesion"].bool(), train["organ"].bool()
    moved = lesion[donor]
    inside = (moved & organ).flatten(1).sum(1) / moved.flatten(1).sum(1).clamp_min(1)
    fits = inside >= INSIDE_ORGAN
    chosen = torch.where(fits[:, None, None, None], moved & organ, lesion)
    labels = torch.where(fits, train["label"][donor], train["label"])
    return {"lesion": chosen.to(torch.uint8), "label": labels}


def panel(cases: dict[str, torch.Tensor], output: torch.Tensor, real: torch.Tensor) -> Panel:
    """Fixed cases, the same for every method: the first typical cases, then the first
    case of each rare group; columns healthy input | requested mask | output | real slice
    (blank where the placement has no real slice)."""
    groups = cases["group"]
    rows = list(range(min(PANEL_ROWS - (len(GROUPS) - 1), int((groups == 0).sum()))))
    for index in range(1, len(GROUPS)):
        members = (groups == index).nonzero().flatten()
        if len(members):
            rows.append(int(members[0]))
    blank = torch.full_like(output[0], 0.5)
    reals = [real[i] if int(groups[i]) == 0 else blank for i in rows]
    names = ", ".join(GROUPS[int(groups[i])] for i in rows)
    return columns_panel(
        [cases["healthy"][rows], cases["lesion"][rows].float(), output[rows],
         torch.stack(reals)],
        ["healthy input", "requested mask", "output", "real lesion slice (grey: none)"],
        f"fixed test cases ({names}), the same for every method")


@hookimpl
def register_tasks(register) -> None:
    register(LesionSynthesisTask())

