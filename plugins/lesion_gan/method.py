"""The mask- and class-conditioned inpainting GAN, and the same network trained with L1 only.

The generator sees the healthy slice, the requested mask and the class (one map per class,
1 inside the mask), and its output replaces the slice only inside the mask grown by
BLEND_PIXELS; outside, the slice is returned unchanged, by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, LesionSynthesisMethod, Split, TrainContext
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.losses import discriminator_loss, generator_loss
from medbench.plugins.components.networks import PatchDiscriminator, patch_layers
from medbench.plugins.components.state import load_networks, networks_state
from medbench.plugins.components.unet import UNetGenerator

BLEND_PIXELS = 1  # the generator paints the mask grown by this much (the lesion's soft edge)


@dataclass
class LesionGANConfig:
    batch_size: int = 16
    width: int = 64  # pix2pix's C64
    lr: float = 2e-4
    beta1: float = 0.5
    l1_weight: float = 10.0  # on the mean inside the painted region (see the card)
    dropout: float = 0.5

    def __post_init__(self) -> None:
        check_config(self, {**counts("batch_size", "width"), "dropout": (0.0, 0.99)},
                     positive=("lr",), non_negative=("l1_weight",), betas=("beta1",))


# Matched with pix2pix's smoke setting: width 16, lr 1e-3.
SMOKE = {"width": 16, "lr": 1e-3}


class LesionGAN(LesionSynthesisMethod):
    name: ClassVar[str] = "lesion-gan"
    summary: ClassVar[str] = ("Mask- and class-conditioned inpainting GAN: U-Net + PatchGAN, "
                              "L1 + adversarial loss inside the mask")
    Config: ClassVar[type] = LesionGANConfig
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {"smoke": SMOKE}
    adversarial: ClassVar[bool] = True
    resumable: ClassVar[bool] = True

    def __init__(self, config: LesionGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        channels = data.field("image").channels
        self.classes = len(data.class_names)
        condition = channels + 1 + self.classes
        self.generator = UNetGenerator(condition, channels, data.image_size, config.width,
                                       config.dropout).to(device)
        self.discriminator = None
        if self.adversarial:
            self.discriminator = PatchDiscriminator(condition + channels, config.width,
                                                    patch_layers(data.image_size)).to(device)

    def _condition(self, healthy: torch.Tensor, lesion: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
        """[healthy, mask, one map per class (1 inside the mask for the asked class)], in
        [-1, 1] as the U-Net expects."""
        one_hot = F.one_hot(labels.long(), self.classes).float()[:, :, None, None]
        return torch.cat([healthy, lesion, one_hot * lesion], dim=1) * 2 - 1

    def _paint(self, healthy: torch.Tensor, lesion: torch.Tensor,
               condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        region = F.max_pool2d(lesion, 2 * BLEND_PIXELS + 1, stride=1, padding=BLEND_PIXELS)
        painted = (self.generator(condition) + 1) / 2
        return healthy * (1 - region) + painted * region, region

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        config = self.config
        betas = (config.beta1, 0.999)
        g_opt = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=betas)
        self.generator.train()
        context.track(generator=self.generator, g_opt=g_opt)
        d_opt = None
        if self.discriminator is not None:
            d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=betas)
            context.track(discriminator=self.discriminator, d_opt=d_opt)
        fields = ("healthy", "image", "lesion", "label")
        for healthy, image, lesion, labels in context.batches(train, config.batch_size,
                                                              fields):
            lesion = lesion.float()
            condition = self._condition(healthy, lesion, labels)
            fake, region = self._paint(healthy, lesion, condition)
            losses = {}
            adversarial = torch.zeros((), device=fake.device)
            if self.discriminator is not None and d_opt is not None:
                real_pair = torch.cat([condition, image * 2 - 1], dim=1)
                fake_pair = torch.cat([condition, fake * 2 - 1], dim=1)
                d_loss = 0.5 * discriminator_loss(self.discriminator(real_pair),
                                                  self.discriminator(fake_pair.detach()))
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                d_opt.step()
                adversarial = generator_loss(self.discriminator(fake_pair))
                losses.update(d=d_loss.detach(), g_adv=adversarial.detach())
            # L1 averaged over the painted pixels only: outside them fake equals the input.
            l1 = ((fake - image).abs() * region).sum() / (region.sum() * fake.shape[1]
                                                          ).clamp_min(1.0)
            weight = config.l1_weight if self.discriminator is not None else 1.0
            g_loss = adversarial + weight * l1
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            context.log(**losses, l1=l1.detach())

    def inpaint(self, healthy: torch.Tensor, lesion: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor:
        # Running batch-norm statistics and no dropout: a case's output does not depend on
        # the other cases in its chunk.
        self.generator.eval()
        fake, _ = self._paint(healthy, lesion, self._condition(healthy, lesion, labels))
        return fake.clamp(0, 1)

    def _networks(self) -> tuple[str, ...]:
        return ("generator",) if self.discriminator is None else ("generator", "discriminator")

    def state_dict(self) -> dict[str, Any]:
        return networks_state(self, *self._networks())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_networks(self, state, *self._networks())


class LesionL1(LesionGAN):
    """The same generator, loop and budget without the discriminator."""

    name: ClassVar[str] = "lesion-l1"
    summary: ClassVar[str] = ("The lesion GAN's U-Net trained with L1 alone: what does the "
                              "adversarial loss add?")
    card_file: ClassVar[str] = "LESION-L1.md"
    adversarial: ClassVar[bool] = False
