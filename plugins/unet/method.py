"""A U-Net segmenter, and the same U-Net with an adversarial shape regulariser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from medbench.api import DataInfo, SegmentationMethod, Split, TrainContext
from medbench.plugins.components.losses import discriminator_loss, generator_loss
from medbench.plugins.unet.network import ShapeCritic, UNet


@dataclass
class UNetConfig:
    batch_size: int = 16
    width: int = 32
    depth: int = 4
    lr: float = 1e-3
    dice_weight: float = 1.0  # soft Dice added to cross-entropy (the nnU-Net loss)
    adversarial_weight: float = 0.1  # adversarial-unet only: Luc et al.'s lambda
    critic_lr: float = 1e-4

    def __post_init__(self) -> None:
        if min(self.batch_size, self.width, self.depth) < 1:
            raise ValueError("batch_size, width and depth must be positive")
        if self.lr <= 0 or self.critic_lr <= 0:
            raise ValueError("learning rates must be positive")
        if self.dice_weight < 0 or self.adversarial_weight < 0:
            raise ValueError("loss weights must be >= 0")


class UNetSegmenter(SegmentationMethod):
    name: ClassVar[str] = "unet"
    summary: ClassVar[str] = "U-Net trained with cross-entropy + soft Dice (the baseline)"
    Config: ClassVar[type] = UNetConfig
    budget_defaults: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {"width": 16}}
    adversarial: ClassVar[bool] = False
    resumable: ClassVar[bool] = True

    def __init__(self, config: UNetConfig, data: DataInfo, device: torch.device) -> None:
        super().__init__(config, data, device)
        self.classes = len(data.field("mask").value_names)
        depth = min(config.depth, max(1, data.image_size.bit_length() - 3))  # >= 4 px deep
        self.net = UNet(data.channels, self.classes, config.width, depth).to(device)
        self.critic = ShapeCritic(data.channels, self.classes, config.width).to(device) \
            if self.adversarial else None

    def fit(self, train: Split, val: Split, context: TrainContext) -> None:
        config = self.config
        optimiser = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        critic_optimiser = None
        if self.critic is not None:
            critic_optimiser = torch.optim.Adam(self.critic.parameters(), lr=config.critic_lr,
                                                betas=(0.5, 0.999))
        self.net.train()
        context.track(net=self.net, optimiser=optimiser)
        if self.critic is not None and critic_optimiser is not None:
            context.track(critic=self.critic, critic_optimiser=critic_optimiser)
        for images, masks in context.batches(train, config.batch_size, ("image", "mask")):
            labels = masks[:, 0].long()
            one_hot = F.one_hot(labels, self.classes).permute(0, 3, 1, 2).float()
            logits = self.net(images)
            probabilities = logits.softmax(dim=1)
            loss = F.cross_entropy(logits, labels) + \
                config.dice_weight * soft_dice_loss(probabilities, one_hot)
            losses = {"seg": loss.detach()}
            if self.critic is not None and critic_optimiser is not None:
                critic_loss = discriminator_loss(self.critic(images, one_hot),
                                                 self.critic(images, probabilities.detach()))
                critic_optimiser.zero_grad(set_to_none=True)
                critic_loss.backward()
                critic_optimiser.step()
                adversarial = generator_loss(self.critic(images, probabilities))
                loss = loss + config.adversarial_weight * adversarial
                losses.update(critic=critic_loss.detach(), adv=adversarial.detach())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            context.log(**losses)

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        return self.net(images)

    def state_dict(self) -> dict[str, Any]:
        state = {"net": self.net.state_dict()}
        if self.critic is not None:
            state["critic"] = self.critic.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        if self.critic is not None and "critic" in state:
            self.critic.load_state_dict(state["critic"])


class AdversarialUNet(UNetSegmenter):
    """The same U-Net, loss and loop, plus a critic on (image, label map) pairs."""

    name: ClassVar[str] = "adversarial-unet"
    summary: ClassVar[str] = ("The same U-Net plus a critic on (image, label map) pairs: an "
                              "adversarial shape regulariser (Luc et al. 2016)")
    card_file: ClassVar[str] = "ADVERSARIAL-UNET.md"
    adversarial: ClassVar[bool] = True


def soft_dice_loss(probabilities: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
    """1 - mean soft Dice over the foreground classes of the batch."""
    dims = (0, 2, 3)
    overlap = (probabilities * one_hot).sum(dims)
    total = probabilities.sum(dims) + one_hot.sum(dims)
    dice = (2 * overlap + 1) / (total + 1)
    return 1 - dice[1:].mean()
