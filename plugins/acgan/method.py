"""AC-GAN's training adapter: the source and class log-likelihoods of Odena et al. (2017).

The discriminator maximises L_S + L_C (is it real; which class); the generator maximises
L_C - L_S, here in the usual non-saturating form for L_S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, Split, SynthesisMethod, TrainContext
from medbench.plugins.acgan.network import (
    AuxiliaryDiscriminator,
    ConditionalGenerator,
    init_weights,
)
from medbench.plugins.components.config import check_config, counts
from medbench.plugins.components.losses import (
    adversarial_optimisers,
    discriminator_loss,
    generator_loss,
)
from medbench.plugins.components.state import load_networks, networks_state


@dataclass
class ACGANConfig:
    latent_dim: int = 100
    width: int = 32
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    class_weight: float = 1.0  # weight of the class log-likelihood against the source one

    def __post_init__(self) -> None:
        check_config(self, {**counts("latent_dim", "batch_size"), **counts("width", most=1024),
                            "class_weight": (0, 100)},
                     positive=("lr",), betas=("beta1", "beta2"))


class ACGAN(SynthesisMethod):
    name: ClassVar[str] = "acgan"
    summary: ClassVar[str] = "Auxiliary-classifier GAN, class-conditional (Odena et al. 2017)"
    Config: ClassVar[type] = ACGANConfig
    conditional: ClassVar[bool] = True
    resumable: ClassVar[bool] = True

    def __init__(self, config: ACGANConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.classes = len(data.class_names)
        if self.classes < 2:
            raise ValueError("AC-GAN needs a label field with at least two classes")
        self.generator = ConditionalGenerator(config.latent_dim, self.classes, data.channels,
                                              data.image_size, config.width).to(device)
        self.discriminator = AuxiliaryDiscriminator(self.classes, data.channels,
                                                    data.image_size, config.width).to(device)
        self.generator.apply(init_weights)
        self.discriminator.apply(init_weights)

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        cfg = self.config
        opt_g, opt_d = adversarial_optimisers(self.generator, self.discriminator, cfg.lr,
                                              (cfg.beta1, cfg.beta2))
        context.track(generator=self.generator, discriminator=self.discriminator,
                      opt_g=opt_g, opt_d=opt_d)
        for real, labels in context.batches(train, cfg.batch_size, fields=("image", "label")):
            real = real * 2.0 - 1.0
            n = real.shape[0]
            z = torch.randn(n, cfg.latent_dim, device=self.device)
            wanted = labels[torch.randperm(n, device=self.device)]  # the train class mix
            fake = self.generator(z, wanted)

            source_real, class_real = self.discriminator(real)
            source_fake, class_fake = self.discriminator(fake.detach())
            loss_d = (discriminator_loss(source_real, source_fake)
                      + cfg.class_weight * (F.cross_entropy(class_real, labels)
                                            + F.cross_entropy(class_fake, wanted)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            source_gen, class_gen = self.discriminator(fake)
            loss_g = (generator_loss(source_gen)
                      + cfg.class_weight * F.cross_entropy(class_gen, wanted))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            context.log(loss_d=loss_d.detach(), loss_g=loss_g.detach())

    def sample(self, n: int, labels: torch.Tensor | None,
               generator: torch.Generator) -> torch.Tensor:
        assert labels is not None, "a conditional method is always given labels"
        self.generator.eval()
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
        return (self.generator(z, labels.to(self.device)) + 1.0) / 2.0

    def state_dict(self) -> dict[str, Any]:
        return networks_state(self, "generator", "discriminator")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_networks(self, state, "generator", "discriminator")
