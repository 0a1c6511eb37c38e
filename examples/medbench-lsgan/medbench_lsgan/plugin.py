"""A least-squares GAN (Mao et al. 2017) with two-layer MLPs, registered as `lsgan`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext, hookimpl


@dataclass
class LSGANConfig:
    latent_dim: int = 32
    lr: float = 2e-4
    batch_size: int = 32

    def __post_init__(self) -> None:
        if not 1 <= self.latent_dim <= 4096:
            raise ValueError(f"latent_dim must lie in [1, 4096], got {self.latent_dim}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 1 <= self.batch_size <= 4096:
            raise ValueError(f"batch_size must lie in [1, 4096], got {self.batch_size}")


class LSGAN(SynthesisMethod):
    name = "lsgan"
    summary = "Least-squares GAN (Mao et al. 2017), a small MLP version"
    Config = LSGANConfig  # `--set lr=1e-4` is checked against these fields

    def __init__(self, config: LSGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        pixels = data.channels * data.image_size * data.image_size
        self.generator = nn.Sequential(
            nn.Linear(config.latent_dim, 256), nn.ReLU(), nn.Linear(256, pixels), nn.Sigmoid()
        ).to(device)
        self.critic = nn.Sequential(
            nn.Linear(pixels, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1)
        ).to(device)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        for real in context.batches(train, cfg.batch_size):  # stops at the budget
            real = real.flatten(1)
            z = torch.randn(len(real), cfg.latent_dim, device=self.device)
            fake = self.generator(z)
            loss_c = ((self.critic(real) - 1) ** 2).mean() \
                + (self.critic(fake.detach()) ** 2).mean()
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
            loss_g = ((self.critic(fake) - 1) ** 2).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            context.log(loss_c=loss_c.detach(), loss_g=loss_g.detach())  # NaN/inf: diverged

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
        shape = (n, self.data.channels, self.data.image_size, self.data.image_size)
        return self.generator(z).reshape(shape)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])


@hookimpl
def register_methods(register) -> None:
    register(LSGAN)
