"""The pretrained feature spaces (SwAV, DINOv2, RadImageNet): each one's features equal its
reference model's output on the same real images with the same weights; FD, KID and PRDC
run in each with no metric code of their own; offline they are unavailable with a hint.

Weights are random, in the official releases' exact layouts (tests/weights_layouts.py), in
a temporary torch hub cache. The references are independent of medbench's network code:
torchvision's ResNet-50 loaded as the SwAV release's own torch hub entry loads it, Hugging
Face's DINOv2 port, and RadImageNet's MONAI/MAISI preprocessing restated here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
import torch
import torch.nn.functional as F
from pydicom.data import get_testdata_file
from skimage import data as skdata
from skimage.transform import resize
from torchvision.models import resnet50
from torchvision.models.feature_extraction import create_feature_extractor

from medbench.api import SilentProgress
from medbench.cli import app
from medbench.plugins.feature_spaces.dinov2 import DINOV2_WEIGHTS, DINOv2Extractor
from medbench.plugins.feature_spaces.radimagenet import RadImageNetExtractor
from medbench.plugins.feature_spaces.swav import SWAV_WEIGHTS, SwAVExtractor
from medbench.run import budgets
from medbench.run.budgets import Budget

from weights_layouts import dinov2_release, radimagenet_conversion, swav_release

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("releases")
    return {"swav": swav_release(folder / SWAV_WEIGHTS.name),
            "dinov2": dinov2_release(folder / DINOV2_WEIGHTS.name),
            "radimagenet": radimagenet_conversion(folder / "radimagenet_resnet50.pt")}


@pytest.fixture(scope="module")
def real_images() -> torch.Tensor:
    """Real medical images at 224x224 in [0, 1], already 8-bit: a CT and an MR slice from
    pydicom's test files, windowed, and the retina photograph from scikit-image."""
    slices = []
    for name in ("CT_small.dcm", "MR_small.dcm"):
        pixels = pydicom.dcmread(get_testdata_file(name)).pixel_array.astype(np.float64)
        low, high = np.percentile(pixels, [1, 99])
        slices.append(np.repeat(resize(np.clip((pixels - low) / (high - low), 0, 1),
                                       (224, 224))[None], 3, axis=0))
    slices.append(resize(skdata.retina() / 255.0, (224, 224)).transpose(2, 0, 1))
    images = torch.from_numpy(np.stack(slices)).float()
    return torch.round(images * 255) / 255  # 8-bit, so quantising changes nothing


def features(extractor, images: torch.Tensor) -> torch.Tensor:
    with SilentProgress().bar("features", len(images)) as bar:
        return extractor.extract(images, torch.device("cpu"), bar)


def reference_resnet50(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    network = resnet50(weights=None)
    missing, unexpected = network.load_state_dict(state, strict=False)
    assert missing == ["fc.weight", "fc.bias"]
    return create_feature_extractor(network.eval(), {"flatten": "features"})


def test_swav_features_equal_the_release_loaded_as_its_hub_entry_loads_it(
        releases: dict[str, Path], real_images: torch.Tensor) -> None:
    release = torch.load(releases["swav"], weights_only=True)
    # facebookresearch/swav hubconf.py: torchvision's resnet50, keys without "module.",
    # loaded with strict=False (the projection head and prototypes are left out).
    reference = reference_resnet50({k.replace("module.", ""): v for k, v in release.items()})
    with torch.no_grad():
        expected = reference((real_images - IMAGENET_MEAN) / IMAGENET_STD)["features"]
    found = features(SwAVExtractor(releases["swav"]), real_images)
    assert found.shape == (3, 2048)
    torch.testing.assert_close(found, expected, rtol=1e-5, atol=1e-5)


def _hugging_face_dinov2(release: dict[str, torch.Tensor], image_size: int,
                         pos_embed: torch.Tensor):
    """Hugging Face's DINOv2 port with the release converted to its names (its conversion
    script's mapping: the fused qkv split into q, k and v)."""
    from transformers import Dinov2Config, Dinov2Model

    config = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                          intermediate_size=1536, image_size=image_size, patch_size=14,
                          layerscale_value=1.0, layer_norm_eps=1e-6)
    model = Dinov2Model(config).eval()
    state = {"embeddings.cls_token": release["cls_token"],
             "embeddings.mask_token": release["mask_token"],
             "embeddings.position_embeddings": pos_embed,
             "embeddings.patch_embeddings.projection.weight": release["patch_embed.proj.weight"],
             "embeddings.patch_embeddings.projection.bias": release["patch_embed.proj.bias"],
             "layernorm.weight": release["norm.weight"], "layernorm.bias": release["norm.bias"]}
    for i in range(12):
        ours, theirs = f"blocks.{i}.", f"encoder.layer.{i}."
        q, k, v = release[ours + "attn.qkv.weight"].chunk(3)
        qb, kb, vb = release[ours + "attn.qkv.bias"].chunk(3)
        state.update({
            theirs + "attention.q_proj.weight": q, theirs + "attention.q_proj.bias": qb,
            theirs + "attention.k_proj.weight": k, theirs + "attention.k_proj.bias": kb,
            theirs + "attention.v_proj.weight": v, theirs + "attention.v_proj.bias": vb,
            theirs + "attention.o_proj.weight": release[ours + "attn.proj.weight"],
            theirs + "attention.o_proj.bias": release[ours + "attn.proj.bias"],
            theirs + "layer_scale1.lambda1": release[ours + "ls1.gamma"],
            theirs + "layer_scale2.lambda1": release[ours + "ls2.gamma"],
        })
        for name in ("norm1", "norm2", "mlp.fc1", "mlp.fc2"):
            for part in ("weight", "bias"):
                state[f"{theirs}{name}.{part}"] = release[f"{ours}{name}.{part}"]
    model.load_state_dict(state, strict=True)
    return model


def _official_resampling(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """DinoVisionTransformer.interpolate_pos_encoding as released (interpolate_offset 0.1)."""
    n = pos_embed.shape[1] - 1
    side = int(math.sqrt(n))
    patches = pos_embed[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    factor = (grid + 0.1) / math.sqrt(n)
    patches = F.interpolate(patches, scale_factor=(factor, factor), mode="bicubic")
    return torch.cat([pos_embed[:, :1], patches.permute(0, 2, 3, 1).reshape(1, -1, 384)], 1)


@pytest.mark.parametrize("size", [518, 224])
def test_dinov2_features_equal_hugging_faces_port_of_the_release(
        releases: dict[str, Path], real_images: torch.Tensor, size: int) -> None:
    """At 518 (the release's own grid) nothing is resampled; at 224, medbench's default,
    the position embeddings are resampled as the official code does."""
    release = torch.load(releases["dinov2"], weights_only=True)
    grid = size // 14
    pos_embed = release["pos_embed"] if size == 518 else \
        _official_resampling(release["pos_embed"], grid)
    reference = _hugging_face_dinov2(release, size, pos_embed)
    images = real_images[:2] if size == 518 else real_images
    if size != 224:
        images = F.interpolate(images, size=(size, size), mode="bicubic", antialias=True)
        images = torch.round(images.clamp(0, 1) * 255) / 255
    with torch.no_grad():
        expected = reference(pixel_values=(images - IMAGENET_MEAN) / IMAGENET_STD).pooler_output
    extractor = DINOv2Extractor(releases["dinov2"])
    extractor.image_size = size
    found = features(extractor, images)
    assert found.shape == (len(images), 384)
    assert found.std() > 0.1  # the random release is not degenerate
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-4)


def test_radimagenet_features_follow_the_maisi_preprocessing(
        releases: dict[str, Path], real_images: torch.Tensor) -> None:
    saved = torch.load(releases["radimagenet"], weights_only=True)["state_dict"]
    reference = reference_resnet50({k.removeprefix("backbone."): v for k, v in saved.items()
                                    if not k.startswith("fc.")})
    # MONAI Generative / MAISI: RGB -> BGR, subtract ImageNet's mean, no std.
    bgr = real_images[:, [2, 1, 0]] - torch.tensor([0.406, 0.456, 0.485]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference(bgr)["features"]
    found = features(RadImageNetExtractor(releases["radimagenet"]), real_images)
    torch.testing.assert_close(found, expected, rtol=1e-5, atol=1e-5)


def test_small_images_are_resized_as_torchvision_resizes_them() -> None:
    from torchvision.transforms.v2 import functional as TF

    from medbench.plugins.feature_spaces.pretrained import rgb_224

    gray = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    eight_bit = torch.round(gray * 255) / 255
    expected = TF.resize(eight_bit.expand(-1, 3, -1, -1), [224, 224],
                         interpolation=TF.InterpolationMode.BICUBIC, antialias=True).clamp(0, 1)
    torch.testing.assert_close(rgb_224(gray), expected, rtol=0, atol=1e-6)


def test_a_file_of_another_network_is_refused_in_one_line(tmp_path: Path,
                                                           releases: dict[str, Path]) -> None:
    from medbench.api import MetricUnavailable

    with pytest.raises(MetricUnavailable) as refused:
        SwAVExtractor(releases["dinov2"]).network(torch.device("cpu"))
    assert "do not fit its network" in str(refused.value) and "\n" not in str(refused.value)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(MetricUnavailable, match="do not load as PyTorch weights"):
        DINOv2Extractor(garbage).network(torch.device("cpu"))


SPACE_METRICS = ("fd_{0},kid_{0},precision_{0},recall_{0},density_{0},coverage_{0}")


def test_fd_kid_and_prdc_run_in_every_new_space(runner, host, tiny_args, tmp_path: Path,
                                                releases: dict[str, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The releases sit in the torch hub cache where `medbench weights fetch` puts them
    (RadImageNet's comes by path); every distance metric is computed in every space."""
    import os

    monkeypatch.setitem(budgets.BUDGETS, "tiny", Budget(
        "tiny", image_size=32, train_images=64, eval_samples=12, intended_for="tests"))
    hub = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    for name in ("swav", "dinov2"):
        (hub / releases[name].name).symlink_to(releases[name])
    metrics = ",".join(SPACE_METRICS.format(space) for space in ("swav", "dinov2", "radimagenet"))
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", metrics, "--metric-option",
                                          f"*.radimagenet_weights={releases['radimagenet']}"),
                           obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    for space, dims in (("swav", 2048), ("dinov2", 384), ("radimagenet", 2048)):
        for name in SPACE_METRICS.format(space).split(","):
            entry = record["metrics"][name]
            assert entry["status"] == "ok", (name, entry)
            assert math.isfinite(entry["value"]) and entry["n_samples"]["generated"] == 12
            assert entry["details"]["dims"] == dims
            assert entry["details"]["weights_sha256"].startswith(
                entry["details"]["extractor"].rsplit("-", 1)[1])
        assert record["metrics"][f"fd_{space}"]["value"] > 0
    # Random weights are not DINOv2's pinned release: valid values, never ranked. SwAV pins
    # no digest and RadImageNet is the user's own file: nothing to compare with.
    dinov2 = record["metrics"]["fd_dinov2"]
    assert dinov2["comparable"] is False and "not the space's pinned release" in dinov2["caveat"]
    assert record["metrics"]["fd_swav"]["comparable"] is True
    assert record["metrics"]["fd_radimagenet"]["comparable"] is True


def test_without_weights_the_spaces_are_unavailable_with_a_hint(runner, host, tiny_args,
                                                                 tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "fd_swav,fd_dinov2,"
                                          "fd_radimagenet,fd_randcnn"), obj=host)
    assert result.exit_code == 0, result.output
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    metrics, said = record["metrics"], " ".join(result.output.split())
    assert metrics["fd_randcnn"]["status"] == "ok"
    for name, release in (("fd_swav", SWAV_WEIGHTS), ("fd_dinov2", DINOV2_WEIGHTS)):
        assert metrics[name]["status"] == "unavailable"
        assert release.name in metrics[name]["reason"]
        assert f"medbench weights fetch {release.name}" in said and release.url in said
    assert metrics["fd_radimagenet"]["status"] == "unavailable"
    assert "distribute them on request" in metrics["fd_radimagenet"]["reason"]
    assert "'*.radimagenet_weights=PATH'" in said


def test_a_missing_weights_path_is_refused_before_training(runner, host, tiny_args,
                                                           tmp_path: Path) -> None:
    result = runner.invoke(app, tiny_args("gaussian", "--metrics", "fd_swav", "--metric-option",
                                          f"fd_swav.swav_weights={tmp_path / 'nope.pth'}"),
                           obj=host)
    assert result.exit_code != 0
    assert "swav_weights" in result.output and "is not a file" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "runs").rglob("record.json"))


def test_weights_status_says_what_each_file_is_verified_against(runner, host) -> None:
    result = runner.invoke(app, ["weights", "status"], obj=host)
    assert result.exit_code == 0, result.output
    rows = {line.split("\t")[0]: line.split("\t") for line in result.output.splitlines()}
    assert rows[SWAV_WEIGHTS.name][1] == "missing"
    assert rows[SWAV_WEIGHTS.name][-1] == "none published"
    assert rows[DINOV2_WEIGHTS.name][-1] == "sha256"
    assert rows["pt_inception-2015-12-05-6726825d.pth"][-1] == "sha256 prefix 6726825d"
