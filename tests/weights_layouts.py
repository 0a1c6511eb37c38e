"""Random-weight checkpoints in the exact layouts of the official releases, so the real
loading code runs offline. Each layout is written out here from the publisher's code (key
names and shapes), not taken from the network medbench builds, so a wrong key mapping in
medbench fails the tests instead of passing them by construction.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.models import resnet50

DINOV2_DEPTH, DINOV2_WIDTH, DINOV2_POSITIONS = 12, 384, 1 + 37 * 37  # ViT-S/14 at 518x518


def _randomise_batch_norms(state: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    """Non-trivial BatchNorm statistics and affine terms, so they cannot silently be skipped."""
    for key, value in state.items():
        if key.endswith(("running_var", "bn1.weight", "bn2.weight", "bn3.weight")):
            state[key] = 0.5 + torch.rand(value.shape, generator=generator)
        elif key.endswith(("running_mean", "bias")) and value.is_floating_point():
            state[key] = 0.1 * torch.randn(value.shape, generator=generator)


def resnet50_trunk(seed: int) -> dict[str, torch.Tensor]:
    """torchvision ResNet-50 keys without the classifier, random values."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    state = {k: v for k, v in resnet50(weights=None).state_dict().items()
             if not k.startswith("fc.")}
    _randomise_batch_norms(state, generator)
    return state


def swav_release(path: Path, seed: int = 0) -> Path:
    """swav_800ep_pretrain.pth.tar: the DistributedDataParallel state dict of SwAV's
    ResNet-50 ('module.' prefix), with its projection head (2048-2048-128) and 3,000
    prototypes."""
    generator = torch.Generator().manual_seed(seed + 1)
    state = {f"module.{k}": v for k, v in resnet50_trunk(seed).items()}
    head = {"projection_head.0.weight": (2048, 2048), "projection_head.0.bias": (2048,),
            "projection_head.1.weight": (2048,), "projection_head.1.bias": (2048,),
            "projection_head.1.running_mean": (2048,), "projection_head.1.running_var": (2048,),
            "projection_head.3.weight": (128, 2048), "projection_head.3.bias": (128,),
            "prototypes.weight": (3000, 128)}
    for key, shape in head.items():
        state[f"module.{key}"] = torch.randn(shape, generator=generator) * 0.02
    state["module.projection_head.1.num_batches_tracked"] = torch.tensor(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def dinov2_release(path: Path, seed: int = 0) -> Path:
    """dinov2_vits14_pretrain.pth: DinoVisionTransformer(embed_dim=384, depth=12, heads=6,
    patch 14, img_size 518, LayerScale, no register tokens) as the official hub saves it."""
    generator = torch.Generator().manual_seed(seed)
    width = DINOV2_WIDTH

    def normal(*shape: int, std: float = 0.02) -> torch.Tensor:
        return torch.randn(shape, generator=generator) * std

    def around_one(n: int) -> torch.Tensor:
        return 1.0 + 0.1 * torch.randn(n, generator=generator)

    state = {"cls_token": normal(1, 1, width, std=0.5),
             "pos_embed": normal(1, DINOV2_POSITIONS, width, std=0.5),
             "mask_token": normal(1, width),
             "patch_embed.proj.weight": normal(width, 3, 14, 14, std=0.05),
             "patch_embed.proj.bias": normal(width)}
    for i in range(DINOV2_DEPTH):
        block = f"blocks.{i}."
        state.update({
            block + "norm1.weight": around_one(width), block + "norm1.bias": normal(width),
            block + "attn.qkv.weight": normal(3 * width, width, std=0.05),
            block + "attn.qkv.bias": normal(3 * width),
            block + "attn.proj.weight": normal(width, width, std=0.05),
            block + "attn.proj.bias": normal(width),
            block + "ls1.gamma": 0.1 + 0.5 * torch.rand(width, generator=generator),
            block + "norm2.weight": around_one(width), block + "norm2.bias": normal(width),
            block + "mlp.fc1.weight": normal(4 * width, width, std=0.05),
            block + "mlp.fc1.bias": normal(4 * width),
            block + "mlp.fc2.weight": normal(width, 4 * width, std=0.05),
            block + "mlp.fc2.bias": normal(width),
            block + "ls2.gamma": 0.1 + 0.5 * torch.rand(width, generator=generator),
        })
    state["norm.weight"], state["norm.bias"] = around_one(width), normal(width)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def radimagenet_conversion(path: Path, seed: int = 0) -> Path:
    """RadImageNet's ResNet-50 as a torchvision state dict, saved from a wrapped model
    ('backbone.' prefix) with a 165-class head, as conversions often are."""
    state = {f"backbone.{k}": v for k, v in resnet50_trunk(seed + 7).items()}
    state["fc.weight"], state["fc.bias"] = torch.zeros(165, 2048), torch.zeros(165)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state}, path)
    return path
