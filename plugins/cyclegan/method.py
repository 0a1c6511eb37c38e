"""CycleGAN: two generators trained from unpaired sets, held together by cycle consistency."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, ImageToImageMethod, Split, TrainContext
from medbench.plugins.components.networks import PatchDiscriminator, patch_layers
from medbench.plugins.cyclegan.network import ResNetGenerator


@dataclass
class CycleGANConfig:
    batch_size: int = 8
    width: int = 64  # the paper's c7s1-64
    blocks: int = 6  # the paper's choice at 128 px
    lr: float = 2e-4
    beta1: float = 0.5
    cycle_weight: float = 10.0  # lambda
    identity_weight: float = 0.5  # times lambda; only when both domains have equal channels
    pool_size: int = 50  # history of generated images shown to the discriminators

    def __post_init__(self) -> None:
        if min(self.batch_size, self.width, self.blocks) < 1 or self.pool_size < 0:
            raise ValueError("batch_size, width and blocks must be positive, pool_size >= 0")
        if self.lr <= 0 or not 0 <= self.beta1 < 1:
            raise ValueError("need lr > 0 and 0 <= beta1 < 1")
        if self.cycle_weight < 0 or self.identity_weight < 0:
            raise ValueError("loss weights must be >= 0")


class HistoryPool:
    """Shrivastava et al.'s buffer: half of what the discriminator sees is older fakes."""

    def __init__(self, size: int, generator: torch.Generator, device: torch.device) -> None:
        self.size, self.generator, self.device = size, generator, device
        self.images: list[torch.Tensor] = []

    def state_dict(self) -> dict[str, Any]:
        """The stored fakes, so that a resumed run draws from the same history."""
        return {"images": torch.stack(self.images).cpu()} if self.images else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        stored = state.get("images")
        self.images = [] if stored is None else list(stored.to(self.device).unbind())

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[slot])
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out)


class CycleGAN(ImageToImageMethod):
    name: ClassVar[str] = "cyclegan"
    summary: ClassVar[str] = "Two ResNet generators from unpaired sets, cycle-consistency loss"
    Config: ClassVar[type] = CycleGANConfig
    paired: ClassVar[bool] = False
    resumable: ClassVar[bool] = True
    # Four networks: at 64 px a 2-core CPU cannot train it within a smoke run.
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"width": 12, "blocks": 2, "batch_size": 16}}
    declines: ClassVar[dict[str, str]] = {
        "reconstruction": "medbench benchmarks CycleGAN on unpaired translation; denoising "
                          "has paired data, and pix2pix and unet-l1 cover it",
        "conditional": "a vessel map carries no appearance to cycle back from; pix2pix "
                       "covers conditional synthesis",
    }

    def __init__(self, config: CycleGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        a, b = data.field("source").channels, data.field("target").channels
        self.to_target = ResNetGenerator(a, b, config.width, config.blocks).to(device)
        self.to_source = ResNetGenerator(b, a, config.width, config.blocks).to(device)
        layers = patch_layers(data.image_size)
        self.judge_target = PatchDiscriminator(b, config.width, layers, "instance").to(device)
        self.judge_source = PatchDiscriminator(a, config.width, layers, "instance").to(device)
        self.same_channels = a == b

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        config = self.config
        betas = (config.beta1, 0.999)
        g_opt = torch.optim.Adam(itertools.chain(self.to_target.parameters(),
                                                 self.to_source.parameters()),
                                 lr=config.lr, betas=betas)
        d_opt = torch.optim.Adam(itertools.chain(self.judge_target.parameters(),
                                                 self.judge_source.parameters()),
                                 lr=config.lr, betas=betas)
        fake_targets = HistoryPool(config.pool_size, context.generator, self.device)
        fake_sources = HistoryPool(config.pool_size, context.generator, self.device)
        context.track(to_target=self.to_target, to_source=self.to_source,
                      judge_target=self.judge_target, judge_source=self.judge_source,
                      g_opt=g_opt, d_opt=d_opt, fake_targets=fake_targets,
                      fake_sources=fake_sources)
        identity_weight = config.identity_weight * config.cycle_weight if self.same_channels \
            else 0.0
        for module in (self.to_target, self.to_source):
            module.train()
        # The task hands unpaired rows: row i's source and target are different subjects.
        for real_a, real_b in context.batches(train, config.batch_size, ("source", "target")):
            real_a, real_b = real_a * 2 - 1, real_b * 2 - 1
            fake_b, fake_a = self.to_target(real_a), self.to_source(real_b)
            adversarial = _least_squares(self.judge_target(fake_b), 1.0) + \
                _least_squares(self.judge_source(fake_a), 1.0)
            cycle = F.l1_loss(self.to_source(fake_b), real_a) + \
                F.l1_loss(self.to_target(fake_a), real_b)
            g_loss = adversarial + config.cycle_weight * cycle
            if identity_weight:
                same = F.l1_loss(self.to_target(real_b), real_b) + \
                    F.l1_loss(self.to_source(real_a), real_a)
                g_loss = g_loss + identity_weight * same
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()

            d_loss = 0.5 * (
                _least_squares(self.judge_target(real_b), 1.0)
                + _least_squares(self.judge_target(fake_targets(fake_b)), 0.0)
                + _least_squares(self.judge_source(real_a), 1.0)
                + _least_squares(self.judge_source(fake_sources(fake_a)), 0.0))
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            context.log(g_adv=adversarial.detach(), cycle=cycle.detach(), d=d_loss.detach())

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        self.to_target.eval()
        return (self.to_target(source * 2 - 1) + 1) / 2

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict()
                for name in ("to_target", "to_source", "judge_target", "judge_source")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, weights in state.items():
            getattr(self, name).load_state_dict(weights)


def _least_squares(logits: torch.Tensor, label: float) -> torch.Tensor:
    """LSGAN loss (Mao et al. 2017), which CycleGAN uses instead of the log loss."""
    return (logits - label).pow(2).mean()
