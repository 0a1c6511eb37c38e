"""pix2pix and its honest baseline, the same U-Net trained with L1 alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, ImageToImageMethod, Split, TrainContext
from medbench.plugins.components.losses import discriminator_loss, generator_loss
from medbench.plugins.components.networks import patch_layers
from medbench.plugins.pix2pix.network import PairDiscriminator, UNetGenerator


@dataclass
class Pix2PixConfig:
    batch_size: int = 16
    width: int = 64  # the paper's C64 first layer
    lr: float = 2e-4
    beta1: float = 0.5
    l1_weight: float = 100.0  # the paper's lambda
    dropout: float = 0.5
    # auto: residual learning when source and target share channels and units (denoising),
    # the paper's plain U-Net otherwise.
    residual: str = "auto"

    def __post_init__(self) -> None:
        if self.residual not in ("auto", "yes", "no"):
            raise ValueError(f"residual must be auto, yes or no, got {self.residual!r}")
        if self.batch_size < 1 or self.width < 1:
            raise ValueError("batch_size and width must be positive")
        if self.lr <= 0 or not 0 <= self.beta1 < 1 or self.l1_weight < 0:
            raise ValueError("need lr > 0, 0 <= beta1 < 1 and l1_weight >= 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


# A 2-core CPU trains the width-64 U-Net at ~25 img/s at 64x64; width 16 at ~180 img/s.
SMOKE = {"width": 16, "lr": 1e-3}


class Pix2Pix(ImageToImageMethod):
    name: ClassVar[str] = "pix2pix"
    summary: ClassVar[str] = "U-Net generator + PatchGAN discriminator, L1 + adversarial loss"
    Config: ClassVar[type] = Pix2PixConfig
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {"smoke": SMOKE}
    adversarial: ClassVar[bool] = True
    resumable: ClassVar[bool] = True

    def __init__(self, config: Pix2PixConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        source, target = data.field("source"), data.field("target")
        same_units = source.channels == target.channels and source.units == target.units \
            and source.value_range == target.value_range
        residual = config.residual == "yes" or (config.residual == "auto" and same_units)
        self.generator = UNetGenerator(source.channels, target.channels, data.image_size,
                                       config.width, config.dropout, residual).to(device)
        self.discriminator = None
        if self.adversarial:
            self.discriminator = PairDiscriminator(
                source.channels + target.channels, config.width,
                patch_layers(data.image_size)).to(device)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        config = self.config
        betas = (config.beta1, 0.999)
        g_opt = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=betas)
        d_opt = None
        if self.discriminator is not None:
            d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=betas)
        self.generator.train()
        context.track(generator=self.generator, g_opt=g_opt)
        if self.discriminator is not None and d_opt is not None:
            context.track(discriminator=self.discriminator, d_opt=d_opt)
        for source, target in context.batches(train, config.batch_size, ("source", "target")):
            source, target = source * 2 - 1, target * 2 - 1
            fake = self.generator(source)
            losses = {}
            if self.discriminator is not None and d_opt is not None:
                d_loss = 0.5 * discriminator_loss(self.discriminator(source, target),
                                                  self.discriminator(source, fake.detach()))
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                d_opt.step()
                adversarial = generator_loss(self.discriminator(source, fake))
                losses.update(d=d_loss.detach(), g_adv=adversarial.detach())
            else:
                adversarial = torch.zeros((), device=fake.device)
            l1 = F.l1_loss(fake, target)
            weight = config.l1_weight if self.discriminator is not None else 1.0
            g_loss = adversarial + weight * l1
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            context.log(**losses, l1=l1.detach())

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        # Batch norm uses its running statistics and dropout is off, so a prediction does
        # not depend on the other images in the chunk (the paper kept dropout on at test).
        self.generator.eval()
        return ((self.generator(source * 2 - 1) + 1) / 2).clamp(0, 1)

    def state_dict(self) -> dict[str, Any]:
        state = {"generator": self.generator.state_dict()}
        if self.discriminator is not None:
            state["discriminator"] = self.discriminator.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        if self.discriminator is not None and "discriminator" in state:
            self.discriminator.load_state_dict(state["discriminator"])


class UNetL1(Pix2Pix):
    """The same generator and training loop, without the discriminator."""

    name: ClassVar[str] = "unet-l1"
    summary: ClassVar[str] = "pix2pix's U-Net trained with L1 alone: does the GAN loss help?"
    card_file: ClassVar[str] = "UNET-L1.md"
    adversarial: ClassVar[bool] = False
