"""WGAN-GP's training adapter: Algorithm 1 of Gulrajani et al. (2017)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.losses import gradient_penalty
from medbench.plugins.components.state import load_networks, networks_state
from medbench.plugins.wgan_gp.network import Critic, Generator


@dataclass
class WGANGPConfig:
    latent_dim: int = 128
    width: int = 32  # critic channels at full resolution; the generator mirrors them
    batch_size: int = 64
    n_critic: int = 5  # critic steps per generator step; each takes one real batch
    gp_weight: float = 10.0  # lambda
    gp_every: int = 1  # penalty on every n-th critic step only, scaled by n ("lazy")
    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9

    def __post_init__(self) -> None:
        check_config(self, {**counts("latent_dim", "batch_size"), **counts("width", most=1024),
                            **counts("n_critic", most=100), **counts("gp_every", most=64),
                            "gp_weight": (0, 1e4)},
                     positive=("lr",), betas=("beta1", "beta2"))


class GeneratorLoss:
    """The generator's latest loss, logged on the critic-only steps between its updates;
    tracked, so that a resumed run logs what an uninterrupted one does."""

    def __init__(self) -> None:
        self.value: torch.Tensor | None = None

    def state_dict(self) -> dict[str, Any]:
        return {} if self.value is None else {"value": self.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value = state.get("value")


class WGANGP(SynthesisMethod):
    name: ClassVar[str] = "wgan-gp"
    summary: ClassVar[str] = "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)"
    Config: ClassVar[type] = WGANGPConfig
    # At smoke the budget buys few real batches: five critic steps per generator step would
    # leave a fifth of them to the generator, and the penalty's double backward would put
    # the run over two minutes on a 2-core CPU. Batches of 16: under the per-class protocol
    # (the downstream metrics) each class model sees 8,000-16,000 images, too few steps at
    # 64 (seed 0 at 16: fd_randcnn 0.95, precision 0.30). See the model card.
    resumable: ClassVar[bool] = True
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"n_critic": 1, "lr": 1e-3, "beta1": 0.0, "gp_every": 4, "batch_size": 16}}

    def __init__(self, config: WGANGPConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.generator = Generator(config.latent_dim, data.channels, data.image_size,
                                   config.width).to(device)
        self.critic = Critic(data.channels, data.image_size, config.width).to(device)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=betas)
        self.generator.train()
        carried = GeneratorLoss()
        context.track(generator=self.generator, critic=self.critic, opt_g=opt_g, opt_c=opt_c,
                      carried=carried)
        for real in context.batches(train, cfg.batch_size):
            index = context.step - 1  # this batch's index: the context counted it already
            real = real * 2.0 - 1.0
            z = torch.randn(real.shape[0], cfg.latent_dim, device=self.device)
            with torch.no_grad():
                fake = self.generator(z)
            wasserstein = self.critic(real).mean() - self.critic(fake).mean()
            loss_c = -wasserstein
            if index % cfg.gp_every == 0:
                penalty = gradient_penalty(self.critic, real, fake)
                loss_c = loss_c + cfg.gp_weight * cfg.gp_every * penalty
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
            losses = {"loss_c": loss_c.detach(), "wasserstein": wasserstein.detach()}

            if (index + 1) % cfg.n_critic == 0:
                z = torch.randn(real.shape[0], cfg.latent_dim, device=self.device)
                objective = -self.critic(self.generator(z)).mean()
                opt_g.zero_grad(set_to_none=True)
                objective.backward()
                opt_g.step()
                carried.value = objective.detach()
            if carried.value is not None:
                losses["loss_g"] = carried.value
            context.log(**losses)

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        self.generator.eval()
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
        return (self.generator(z) + 1.0) / 2.0

    def state_dict(self) -> dict[str, Any]:
        return networks_state(self, "generator", "critic")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_networks(self, state, "generator", "critic")
