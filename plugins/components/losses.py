"""The GAN losses and the penalty the built-in methods share."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The original GAN's discriminator loss (Goodfellow et al. 2014): the log loss of
    real -> 1 plus that of fake -> 0, each averaged over its logits."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: the log loss of fake -> 1 (the same paper's fix
    for a generator that learns nothing early on)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017) at random points real + u (fake - real),
    u ~ U(0, 1) per sample."""
    mix = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    return gradient_norm_penalty(critic, real + mix * (fake - real))


def gradient_norm_penalty(critic: Callable[[torch.Tensor], torch.Tensor],
                          points: torch.Tensor) -> torch.Tensor:
    """E[(||grad critic(x)||_2 - 1)^2] over the given points (one per sample)."""
    points = points.requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def adversarial_optimisers(generator: torch.nn.Module, discriminator: torch.nn.Module,
                           lr: float, betas: tuple[float, float],
                           ) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for each player of the game at one rate (DCGAN's recipe), both networks put in
    training mode: (generator's optimiser, discriminator's)."""
    generator.train()
    discriminator.train()
    return (torch.optim.Adam(generator.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas))
