"""PGGAN's training adapter: WGAN-GP loss with the drift term (or the logistic loss),
Adam(0, 0.99), and the growth schedule of schedule.py. Real images are shown at the current
resolution, and during a fade-in they are blended with their upsampled coarser version, as
in the paper; samples come from a running average of the generator's weights, as in the
paper too."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.losses import gradient_penalty
from medbench.plugins.pggan.network import Discriminator, Generator, resolutions
from medbench.plugins.pggan.schedule import growth_schedule, phase_at

LOSSES = ("wgan-gp", "logistic")


@dataclass
class PGGANConfig:
    latent_dim: int = 128  # the paper's 512, scaled down with the widths
    max_width: int = 128  # channels per block: min(max_width, fmap_base / resolution)
    fmap_base: int = 4096
    start_size: int = 4  # resolution that training starts at
    final_share: float = 0.4  # budget share of the final resolution's stable phase
    batch_size: int = 64
    lr: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.99
    loss: str = "wgan-gp"  # or "logistic": the non-saturating GAN loss, no penalty
    gp_weight: float = 10.0
    gp_every: int = 1  # gradient penalty on every n-th step only, scaled by n ("lazy")
    drift: float = 1e-3  # epsilon_drift: keeps the critic's outputs near zero
    group_size: int = 4  # minibatch standard deviation group
    ema_images: int = 10_000  # half-life, in images, of the sampled generator's weight average
    ema_rampup: float = 0.05  # the half-life is at most this share of the images seen so far

    def __post_init__(self) -> None:
        check_config(self, {**counts("latent_dim", "batch_size"), **counts("max_width", most=1024),
                            **counts("fmap_base", most=65536),
                            **counts("group_size", "gp_every", most=64),
                            "gp_weight": (0, 1e4), "drift": (0, 1)},
                     positive=("lr",), betas=("beta1", "beta2"))
        if self.start_size < 4 or self.start_size & (self.start_size - 1):
            raise ValueError(f"start_size must be a power of two >= 4, got {self.start_size}")
        if not 0.0 < self.final_share < 1.0:
            raise ValueError(f"final_share must lie in (0, 1), got {self.final_share}")
        if not (0 <= self.ema_images <= 10**9 and 0 <= self.ema_rampup <= 1):
            raise ValueError("ema_images must lie in [0, 1e9] (0: no average) and ema_rampup "
                             "in [0, 1]")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got '{self.loss}'")


class PGGAN(SynthesisMethod):
    name: ClassVar[str] = "pggan"
    summary: ClassVar[str] = "Progressive growing of GANs (Karras et al. 2018)"
    Config: ClassVar[type] = PGGANConfig
    # On a CPU the 3x3 convolutions (and the penalty's double backward through them) at the
    # final resolution dominate: at smoke the blocks are narrow (32 channels up to 16x16,
    # 16 at 32x32) and the loss is the logistic one. Under the per-class protocol (the
    # downstream metrics) each class model sees 8,000-16,000 images: 500-1,000 steps of 16.
    # With equalized learning rates a weight moves by about lr of its own scale per Adam
    # step, so the paper's lr, meant for hundreds of thousands of steps, barely moves the
    # networks in 1,000: lr 5e-3 took seed 1's precision from 0.14 to 0.34, and 16 channels
    # at 32x32 to 0.52 (the Gaussian's 0.18). Measurements in the model card.
    resumable: ClassVar[bool] = True
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"max_width": 32, "fmap_base": 512, "start_size": 16, "loss": "logistic",
                  "batch_size": 16, "final_share": 0.6, "lr": 5e-3}}

    def __init__(self, config: PGGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.sizes = resolutions(data.image_size)
        if config.start_size > data.image_size:
            raise ValueError(f"start_size {config.start_size} exceeds the image size "
                             f"{data.image_size}")
        widths = [max(1, min(config.max_width, config.fmap_base // size)) for size in self.sizes]
        self.generator = Generator(config.latent_dim, data.channels, widths).to(device)
        self.discriminator = Discriminator(data.channels, widths, config.group_size).to(device)
        # Measured ~20% faster on a CPU for these narrow 3x3 convolutions.
        self.generator.to(memory_format=torch.channels_last)
        self.discriminator.to(memory_format=torch.channels_last)
        # The paper samples from a running average of the generator's weights.
        self.average = copy.deepcopy(self.generator).requires_grad_(False)
        self.growth: list[list[float]] = []  # [images seen, resolution, fading] at each change

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas)
        # The method's own state holds the average and the growth history besides the nets.
        context.track(method=self, opt_g=opt_g, opt_d=opt_d)
        first = int(math.log2(cfg.start_size)) - 2
        schedule = growth_schedule(context.remaining_images, first, len(self.sizes) - 1,
                                   cfg.final_share)
        offset = context.images_seen
        for real in context.batches(train, cfg.batch_size):
            n = real.shape[0]
            phase = phase_at(schedule, context.images_seen - n - offset)
            # Read from the history, not a local, so that a resumed run records no new phase.
            now = [self.sizes[phase.level], int(phase.fading)]
            if not self.growth or self.growth[-1][1:] != now:
                self.growth.append([context.images_seen - n, *now])
            alpha = phase.alpha(context.images_seen - n - offset)
            real = self._real_at(real * 2.0 - 1.0, phase.level, alpha).contiguous(
                memory_format=torch.channels_last)

            z = torch.randn(n, cfg.latent_dim, device=self.device)
            fake = self.generator(z, phase.level, alpha)
            score_real = self.discriminator(real, phase.level, alpha)
            score_fake = self.discriminator(fake.detach(), phase.level, alpha)
            if cfg.loss == "logistic":
                loss_d = F.softplus(score_fake).mean() + F.softplus(-score_real).mean()
            else:
                loss_d = (score_fake.mean() - score_real.mean()
                          + cfg.drift * score_real.pow(2).mean())
                if (context.step - 1) % cfg.gp_every == 0:  # counted from 1 inside the loop
                    critic = partial(self.discriminator, level=phase.level, alpha=alpha)
                    penalty = gradient_penalty(critic, real, fake.detach())
                    loss_d = loss_d + cfg.gp_weight * cfg.gp_every * penalty
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            score_gen = self.discriminator(fake, phase.level, alpha)
            loss_g = (F.softplus(-score_gen).mean() if cfg.loss == "logistic"
                      else -score_gen.mean())
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            self._update_average(context.images_seen - offset, n)
            context.log(loss_d=loss_d.detach(), loss_g=loss_g.detach())

    @torch.no_grad()
    def _update_average(self, images_seen: int, images: int) -> None:
        """Move the average towards the generator, with a half-life of `ema_images`, or
        less early on (StyleGAN2's ramp-up), so a short run does not average in its
        untrained start."""
        cfg = self.config
        half_life = min(cfg.ema_images, cfg.ema_rampup * images_seen)
        beta = 0.5 ** (images / half_life) if half_life > 0 else 0.0
        for average, current in zip(self.average.parameters(), self.generator.parameters(),
                                    strict=True):
            average.lerp_(current, 1.0 - beta)

    def _real_at(self, images: torch.Tensor, level: int, alpha: float) -> torch.Tensor:
        """Real images at the level's resolution, blended like the generator's output."""
        size = self.sizes[level]
        real = F.adaptive_avg_pool2d(images, size) if images.shape[-1] != size else images
        if alpha < 1.0:
            coarse = F.interpolate(F.avg_pool2d(real, 2), scale_factor=2, mode="nearest")
            real = coarse + alpha * (real - coarse)
        return real

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
        images = self.average(z, len(self.sizes) - 1)
        return ((images + 1.0) / 2.0).clamp(0.0, 1.0)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(), "average": self.average.state_dict(),
                "discriminator": self.discriminator.state_dict(), "growth": self.growth}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.average.load_state_dict(state.get("average", state["generator"]))
        self.growth = state.get("growth", [])
