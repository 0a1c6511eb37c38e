"""GANomaly (Akcay, Atapour-Abarghouei and Breckon, 2018): an encoder-decoder-encoder
generator trained adversarially; the anomaly score is the distance between the two codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, Split, TrainContext
from medbench.plugins.anomaly.autoencoder import Autoencoder, AutoencoderConfig
from medbench.plugins.anomaly.network import Encoder
from medbench.plugins.components.config import check_config
from medbench.plugins.components.losses import discriminator_loss
from medbench.plugins.components.networks import dcgan_init

RESET_BELOW = 1e-5  # the paper's code re-initialises a discriminator whose loss falls below


@dataclass
class GANomalyConfig(AutoencoderConfig):
    adversarial_weight: float = 1.0  # w_adv: feature matching on the discriminator
    contextual_weight: float = 50.0  # w_con: L1 between image and reconstruction
    encoder_weight: float = 1.0  # w_enc: L2 between the image's code and the reconstruction's

    def __post_init__(self) -> None:
        super().__post_init__()
        check_config(self, non_negative=("adversarial_weight", "contextual_weight",
                                         "encoder_weight"))


class GANomaly(Autoencoder):
    """The autoencoder's encoder G_E and decoder G_D, a second encoder E for the
    reconstruction, and a discriminator D. Score: ||G_E(x) - E(G_D(G_E(x)))||^2."""

    name: ClassVar[str] = "ganomaly"
    summary: ClassVar[str] = ("Encoder-decoder-encoder GAN; score: distance between the "
                              "image's code and its reconstruction's (Akcay et al. 2018)")
    Config: ClassVar[type] = GANomalyConfig
    card_file: ClassVar[str] = "GANOMALY.md"

    def __init__(self, config: GANomalyConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.reencoder = Encoder(data.channels, data.image_size, config.width,
                                 config.latent_dim).to(device)
        self.discriminator = Encoder(data.channels, data.image_size, config.width, 1).to(device)
        for net in (self.reencoder, self.discriminator):
            net.apply(dcgan_init)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        betas = (cfg.beta1, 0.999)
        generator = [*self.encoder.parameters(), *self.decoder.parameters(),
                     *self.reencoder.parameters()]
        opt_g = torch.optim.Adam(generator, lr=cfg.lr, betas=betas)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas)
        context.track(method=self, opt_g=opt_g, opt_d=opt_d)
        for net in (self.encoder, self.decoder, self.reencoder, self.discriminator):
            net.train()
        for images in context.batches(train, cfg.batch_size):
            x = images * 2 - 1
            code = self.encoder(x)
            fake = self.decoder(code)
            recode = self.reencoder(fake)

            # Generator: match the discriminator's features, reconstruct, keep the code.
            adversarial = F.mse_loss(self.discriminator.features(fake),
                                     self.discriminator.features(x).detach())
            contextual = F.l1_loss(fake, x)
            latent = F.mse_loss(recode, code)
            loss_g = (cfg.adversarial_weight * adversarial + cfg.contextual_weight * contextual
                      + cfg.encoder_weight * latent)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            # Discriminator: real -> 1, reconstruction -> 0.
            real_logit, fake_logit = self.discriminator(x), self.discriminator(fake.detach())
            loss_d = discriminator_loss(real_logit, fake_logit) / 2
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            if loss_d.item() < RESET_BELOW:
                self.discriminator.apply(dcgan_init)
            context.log(adv=adversarial.detach(), con=contextual.detach(), enc=latent.detach(),
                        loss_d=loss_d.detach())

    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        """The latent distance; GANomaly has no pixel-level score, so no map."""
        for net in (self.encoder, self.decoder, self.reencoder):
            net.eval()
        with torch.no_grad():
            code = self.encoder(images * 2 - 1)
            recode = self.reencoder(self.decoder(code))
        return (code - recode).pow(2).mean(dim=1), None

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "reencoder": self.reencoder.state_dict(),
                "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.reencoder.load_state_dict(state["reencoder"])
        self.discriminator.load_state_dict(state["discriminator"])
