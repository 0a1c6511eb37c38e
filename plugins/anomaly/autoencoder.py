"""The honest baseline: a convolutional autoencoder scored by its reconstruction error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import AnomalyMethod, DataInfo, Split, TrainContext
from medbench.plugins.anomaly.network import Decoder, Encoder, residual_map
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.networks import dcgan_init


@dataclass
class AutoencoderConfig:
    latent_dim: int = 100  # the bottleneck: a vector, so the image cannot pass through
    width: int = 32  # channels at full resolution; they double at each halving
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5

    def __post_init__(self) -> None:
        check_config(self, counts("latent_dim", "width", "batch_size"), positive=("lr",),
                     betas=("beta1",))


class Autoencoder(AnomalyMethod):
    """GANomaly's encoder and decoder trained with its L1 reconstruction loss alone: what
    the adversarial and latent terms add is the difference between the two rows."""

    name: ClassVar[str] = "autoencoder"
    summary: ClassVar[str] = ("Convolutional autoencoder with a vector bottleneck; score and "
                              "map: the reconstruction error (the baseline)")
    Config: ClassVar[type] = AutoencoderConfig
    card_file: ClassVar[str] = "AUTOENCODER.md"
    resumable: ClassVar[bool] = True
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {"width": 16}}

    def __init__(self, config: AutoencoderConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.encoder = Encoder(data.channels, data.image_size, config.width,
                               config.latent_dim).to(device)
        self.decoder = Decoder(config.latent_dim, data.channels, data.image_size,
                               config.width).to(device)
        for net in (self.encoder, self.decoder):
            net.apply(dcgan_init)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        parameters = [*self.encoder.parameters(), *self.decoder.parameters()]
        optimiser = torch.optim.Adam(parameters, lr=self.config.lr,
                                     betas=(self.config.beta1, 0.999))
        context.track(encoder=self.encoder, decoder=self.decoder, optimiser=optimiser)
        self.encoder.train()
        self.decoder.train()
        for images in context.batches(train, self.config.batch_size):
            x = images * 2 - 1
            loss = F.l1_loss(self.decoder(self.encoder(x)), x)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            context.log(l1=loss.detach())

    def score(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.encoder.eval()
        self.decoder.eval()
        with torch.no_grad():
            x = images * 2 - 1
            residual = residual_map(x, self.decoder(self.encoder(x)))
        return residual.mean(dim=(1, 2, 3)), residual

    def state_dict(self) -> dict[str, Any]:
        return {"encoder": self.encoder.state_dict(), "decoder": self.decoder.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.decoder.load_state_dict(state["decoder"])
