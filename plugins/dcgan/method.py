"""DCGAN's training adapter: the non-saturating GAN game with Adam, as in the paper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext
from medbench.plugins.dcgan.network import Discriminator, Generator, init_weights


@dataclass
class DCGANConfig:
    latent_dim: int = 100
    width: int = 32  # ngf = ndf: channels at full resolution (see the model card)
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999

    def __post_init__(self) -> None:
        # Upper bounds catch typos (10**12) before any memory is allocated.
        for name, most in (("latent_dim", 4096), ("width", 1024), ("batch_size", 4096)):
            if not 1 <= getattr(self, name) <= most:
                raise ValueError(f"{name} must lie in [1, {most}], got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("beta1 and beta2 must lie in [0, 1)")


class DCGAN(SynthesisMethod):
    name: ClassVar[str] = "dcgan"
    summary: ClassVar[str] = "Deep convolutional GAN (Radford et al. 2016)"
    Config: ClassVar[type] = DCGANConfig
    # At smoke the per-class protocol (what the downstream metrics need) gives each class
    # model 8,000-16,000 images: 125-250 steps at batch 64, where it collapsed (seed 0:
    # fd_randcnn 24.9; 6.45 at batch 32; 1.60 at 16, against the per-class Gaussian's 3.16).
    # The same images seen in four times the steps. See the model card.
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {"batch_size": 16}}
    precisions: ClassVar[tuple[str, ...]] = ("32", "bf16", "16-mixed")
    resumable: ClassVar[bool] = True
    compiles: ClassVar[bool] = True

    def __init__(self, config: DCGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.generator = Generator(config.latent_dim, data.channels, data.image_size,
                                   config.width).to(device)
        self.discriminator = Discriminator(data.channels, data.image_size, config.width).to(device)
        self.generator.apply(init_weights)
        self.discriminator.apply(init_weights)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas)
        self.generator.train()
        self.discriminator.train()
        context.track(generator=self.generator, discriminator=self.discriminator,
                      opt_g=opt_g, opt_d=opt_d)
        generator = context.compiled(self.generator)
        discriminator = context.compiled(self.discriminator)
        for real in context.batches(train, cfg.batch_size):
            real = real * 2.0 - 1.0
            n = real.shape[0]
            z = torch.randn(n, cfg.latent_dim, 1, 1, device=self.device)
            with context.autocast():
                fake = generator(z)

                # Discriminator: real -> 1, fake -> 0.
                logits_real = discriminator(real)
                logits_fake = discriminator(fake.detach())
                loss_d = (F.binary_cross_entropy_with_logits(logits_real,
                                                             torch.ones_like(logits_real))
                          + F.binary_cross_entropy_with_logits(logits_fake,
                                                               torch.zeros_like(logits_fake)))
            opt_d.zero_grad(set_to_none=True)
            context.backward_step(loss_d, opt_d)

            # Generator: the non-saturating loss, fake -> 1.
            with context.autocast():
                logits_gen = discriminator(fake)
                loss_g = F.binary_cross_entropy_with_logits(logits_gen,
                                                            torch.ones_like(logits_gen))
            opt_g.zero_grad(set_to_none=True)
            context.backward_step(loss_g, opt_g)

            context.log(loss_d=loss_d.detach(), loss_g=loss_g.detach())

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        self.generator.eval()
        z = torch.randn(n, self.config.latent_dim, 1, 1, generator=generator).to(self.device)
        return (self.generator(z) + 1.0) / 2.0

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
