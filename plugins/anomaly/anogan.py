"""AnoGAN (Schlegl et al. 2017) and f-AnoGAN (Schlegl et al. 2019): a GAN learns normal
anatomy; a test image is scored by how well the generator can reproduce it.

AnoGAN finds each image's latent code by gradient descent, which makes scoring slow by
design; f-AnoGAN trains an encoder to find it in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from medbench.api import AnomalyMethod, DataInfo, Split, TrainContext
from medbench.plugins.anomaly.network import Decoder, Encoder, gradient_penalty, residual_map
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.losses import (
    adversarial_optimisers,
    discriminator_loss,
    generator_loss,
)
from medbench.plugins.components.networks import dcgan_init
from medbench.plugins.components.state import load_networks, networks_state


@dataclass
class AnoGANConfig:
    latent_dim: int = 100
    width: int = 32  # generator and discriminator channels at full resolution
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    search_steps: int = 500  # Gamma: latent-search iterations per test image (the paper's)
    search_lr: float = 0.05  # Adam's step on the latent code
    feature_weight: float = 0.1  # lambda: discrimination loss vs residual loss

    def __post_init__(self) -> None:
        check_config(self, counts("latent_dim", "width", "batch_size", "search_steps"),
                     positive=("lr", "search_lr"), betas=("beta1",))
        if not 0 <= self.feature_weight <= 1:
            raise ValueError(f"feature_weight must lie in [0, 1], got {self.feature_weight}")


class AnoGAN(AnomalyMethod):
    """A DCGAN on normal images; each test image gets `search_steps` Adam steps on its
    latent code, minimising (1 - lambda) |x - G(z)| + lambda |f(x) - f(G(z))|, where f is
    the discriminator's last feature map. Score: that loss at the end; map: |x - G(z)|."""

    name: ClassVar[str] = "anogan"
    summary: ClassVar[str] = ("DCGAN on normal images; each test image's latent code found by "
                              "iterative search, scored by residual + feature loss "
                              "(Schlegl et al. 2017)")
    Config: ClassVar[type] = AnoGANConfig
    card_file: ClassVar[str] = "ANOGAN.md"
    resumable: ClassVar[bool] = True
    # A smoke run must score its 1,500 test images in well under a minute on a 2-core CPU:
    # 100 search steps instead of the paper's 500 (the card reports what that costs).
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"width": 16, "search_steps": 100}}

    def __init__(self, config: AnoGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.generator = Decoder(config.latent_dim, data.channels, data.image_size,
                                 config.width).to(device)
        self.discriminator = Encoder(data.channels, data.image_size, config.width, 1).to(device)
        for net in (self.generator, self.discriminator):
            net.apply(dcgan_init)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        opt_g, opt_d = adversarial_optimisers(self.generator, self.discriminator, cfg.lr,
                                              (cfg.beta1, 0.999))
        context.track(generator=self.generator, discriminator=self.discriminator,
                      opt_g=opt_g, opt_d=opt_d)
        for images in context.batches(train, cfg.batch_size):
            real = images * 2 - 1
            fake = self.generator(torch.randn(len(real), cfg.latent_dim, device=self.device))
            real_logit, fake_logit = self.discriminator(real), self.discriminator(fake.detach())
            loss_d = discriminator_loss(real_logit, fake_logit)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = generator_loss(self.discriminator(fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            context.log(loss_d=loss_d.detach(), loss_g=loss_g.detach())

    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = torch.randn(len(images), self.config.latent_dim, device=self.device)
        return self.search(images, codes)

    def search(self, images: torch.Tensor,
               codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores and maps after `search_steps` Adam steps from the initial `codes`.

        Each image's loss depends on its own code alone (the networks are in eval mode), and
        Adam's steps are per element, so searching a batch at once is the same as searching
        each image on its own.
        """
        self.generator.eval()
        self.discriminator.eval()
        for net in (self.generator, self.discriminator):
            net.requires_grad_(False)  # only the codes are searched
        x = images * 2 - 1
        with torch.no_grad():
            target = self.discriminator.features(x)
        code = codes.clone().requires_grad_(True)
        optimiser = torch.optim.Adam([code], lr=self.config.search_lr)
        for _ in range(self.config.search_steps):
            loss = self._loss(x, target, code)[0]
            optimiser.zero_grad(set_to_none=True)
            loss.sum().backward()
            optimiser.step()
        with torch.no_grad():
            loss, reconstruction = self._loss(x, target, code)
        for net in (self.generator, self.discriminator):
            net.requires_grad_(True)
        return loss, residual_map(x, reconstruction)

    def _loss(self, x: torch.Tensor, target: torch.Tensor,
              code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-image (1 - lambda) * residual + lambda * discrimination loss, and G(z)."""
        reconstruction = self.generator(code)
        residual = (x - reconstruction).abs().mean(dim=(1, 2, 3))
        features = (target - self.discriminator.features(reconstruction)).abs().mean(dim=(1, 2, 3))
        weight = self.config.feature_weight
        return (1 - weight) * residual + weight * features, reconstruction

    def state_dict(self) -> dict[str, Any]:
        return networks_state(self, "generator", "discriminator")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_networks(self, state, "generator", "discriminator")


@dataclass
class FAnoGANConfig:
    latent_dim: int = 100
    width: int = 32
    batch_size: int = 64
    lr: float = 1e-4  # WGAN-GP's Adam (Gulrajani et al.): lr 1e-4, betas (0, 0.9)
    beta1: float = 0.0
    n_critic: int = 5  # critic steps per generator step
    gp_weight: float = 10.0
    encoder_share: float = 0.3  # share of the training budget for the encoder (stage 2)
    encoder_lr: float = 1e-4
    kappa: float = 1.0  # weight of the feature residual, in training and in the score

    def __post_init__(self) -> None:
        check_config(self, counts("latent_dim", "width", "batch_size", "n_critic"),
                     positive=("lr", "encoder_lr"), non_negative=("gp_weight", "kappa"),
                     betas=("beta1",))
        if not 0 < self.encoder_share < 1:
            raise ValueError(f"encoder_share must lie in (0, 1), got {self.encoder_share}")


class FAnoGAN(AnomalyMethod):
    """Stage 1: a WGAN-GP on normal images. Stage 2, with the GAN frozen: an encoder E
    trained so that G(E(x)) reproduces x in pixels and in critic features (izi_f).
    Score: mean (x - G(E(x)))^2 + kappa mean (f(x) - f(G(E(x))))^2; map: |x - G(E(x))|."""

    name: ClassVar[str] = "f-anogan"
    summary: ClassVar[str] = ("WGAN-GP on normal images plus an encoder into its latent space: "
                              "one-pass scoring (Schlegl et al. 2019)")
    Config: ClassVar[type] = FAnoGANConfig
    card_file: ClassVar[str] = "F-ANOGAN.md"
    resumable: ClassVar[bool] = True  # each stage tracks its own state, in its own part
    # As medbench's wgan-gp at smoke: one critic step per generator step and a larger rate,
    # so that the GAN gets enough generator steps from a smoke budget.
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"width": 16, "n_critic": 1, "lr": 5e-4, "encoder_lr": 1e-3}}

    def __init__(self, config: FAnoGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.generator = Decoder(config.latent_dim, data.channels, data.image_size,
                                 config.width).to(device)
        self.critic = Encoder(data.channels, data.image_size, config.width, 1,
                              norm=False).to(device)
        self.encoder = Encoder(data.channels, data.image_size, config.width,
                               config.latent_dim).to(device)
        for net in (self.generator, self.critic, self.encoder):
            net.apply(dcgan_init)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        encoder_images = round(context.budget_images * self.config.encoder_share)
        self._fit_gan(train, context.part("gan", context.budget_images - encoder_images,
                                          len(train)))
        self._fit_encoder(train, context.part("encoder", encoder_images, len(train)))

    def _fit_gan(self, train: Split, context: TrainContext) -> None:
        cfg = self.config
        betas = (cfg.beta1, 0.9)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=betas)
        context.track(generator=self.generator, critic=self.critic, opt_g=opt_g, opt_c=opt_c)
        self.generator.train()
        for images in context.batches(train, cfg.batch_size):
            index = context.step - 1  # this batch's index: the context counted it already
            real = images * 2 - 1
            with torch.no_grad():
                fake = self.generator(torch.randn(len(real), cfg.latent_dim,
                                                  device=self.device))
            wasserstein = self.critic(real).mean() - self.critic(fake).mean()
            penalty = gradient_penalty(self.critic, real, fake)
            loss_c = -wasserstein + cfg.gp_weight * penalty
            opt_c.zero_grad(set_to_none=True)
            loss_c.backward()
            opt_c.step()
            if (index + 1) % cfg.n_critic == 0:
                code = torch.randn(len(real), cfg.latent_dim, device=self.device)
                loss_g = -self.critic(self.generator(code)).mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
            context.log(wasserstein=wasserstein.detach(), gp=penalty.detach())

    def _fit_encoder(self, train: Split, context: TrainContext) -> None:
        self.generator.eval()
        for net in (self.generator, self.critic):
            net.requires_grad_(False)
        optimiser = torch.optim.Adam(self.encoder.parameters(), lr=self.config.encoder_lr,
                                     betas=(0.5, 0.999))
        context.track(encoder=self.encoder, optimiser=optimiser)
        self.encoder.train()
        for images in context.batches(train, self.config.batch_size):
            pixels, features = self._residuals(images * 2 - 1)[:2]
            loss = pixels.mean() + self.config.kappa * features.mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            context.log(izif=loss.detach())
        for net in (self.generator, self.critic):
            net.requires_grad_(True)

    def _residuals(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per image: mean squared pixel residual, mean squared critic-feature residual;
        and the reconstruction G(E(x))."""
        reconstruction = self.generator(self.encoder(x))
        pixels = (x - reconstruction).pow(2).mean(dim=(1, 2, 3))
        features = (self.critic.features(x)
                    - self.critic.features(reconstruction)).pow(2).mean(dim=(1, 2, 3))
        return pixels, features, reconstruction

    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for net in (self.generator, self.critic, self.encoder):
            net.eval()
        with torch.no_grad():
            x = images * 2 - 1
            pixels, features, reconstruction = self._residuals(x)
        return pixels + self.config.kappa * features, residual_map(x, reconstruction)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "encoder": self.encoder.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in ("generator", "critic", "encoder"):
            getattr(self, name).load_state_dict(state[name])
