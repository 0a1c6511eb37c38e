"""A fixed, seeded, randomly initialised CNN embedding that works offline.

Naeem et al. (2020, "Reliable Fidelity and Diversity Metrics for Generative Models") showed
that randomly initialised CNN embeddings rank generators sensibly where ImageNet features
do not fit the data. Medical images are far from ImageNet, and no weights can be downloaded
everywhere, so medbench's default distribution distances use this embedding.

A random CNN on intensities alone is dominated by low frequencies: there, a Gaussian fitted
to the pixels (which matches their means and covariances exactly) looks closer to real CT
than a GAN whose samples are sharp and noisy like the real thing. The network therefore also
sees a Laplacian (high-pass) channel, so noise texture and edge sharpness, which readers of
medical images notice first, weigh in the distance. That observation, made while building
version 2 of this embedding, is not re-measured by any script; what benchmarks/calibration.py
(and tests/test_calibration.py) check is the order this embedding gives today:
held-out real images < DCGAN < the Gaussian baseline.

Images are embedded at their own resolution (no resampling, which would blur the
high-pass channel); values are therefore comparable within one image size, i.e. within a
budget, which is how leaderboards compare them.

The weights come from NumPy's PCG64 stream (stable across platforms and releases), not from
torch's initialisers, and their SHA-256 is pinned: a machine that draws different weights
refuses to report a value instead of reporting an incomparable one.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from medbench.api import FeatureExtractor, MetricUnavailable

SEED = 1729
CHANNELS = (2, 32, 64, 128, 128)  # input: intensity and its Laplacian
LAPLACIAN_GAIN = 4.0  # brings the high-pass channel to the intensity channel's range
POOLED_GRID = 2  # last feature map average-pooled to 2x2: coarse layout survives
# SHA-256 of the float32 weights drawn from SEED; pinned so values stay comparable.
WEIGHTS_SHA256 = "e9405c579f0c46f405051307ebb0a9e3eb2d8aab11df6c270d7da3425bb5ed40"


class _RandomConvNet(nn.Module):
    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for weight, bias in weights:
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], padding=1)
            conv.weight.data.copy_(torch.from_numpy(weight))
            conv.bias.data.copy_(torch.from_numpy(bias))
            self.convs.append(conv)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if index < len(self.convs) - 1:
                x = F.avg_pool2d(x, 2)
        return F.adaptive_avg_pool2d(x, POOLED_GRID).flatten(1)


def draw_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """He-normal 3x3 kernels and small biases, from one PCG64 stream."""
    rng = np.random.Generator(np.random.PCG64(SEED))
    weights = []
    for c_in, c_out in zip(CHANNELS[:-1], CHANNELS[1:], strict=True):
        fan_in = c_in * 9
        weight = rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2.0 / fan_in)
        bias = rng.standard_normal(c_out) * 0.1
        weights.append((weight.astype(np.float32), bias.astype(np.float32)))
    return weights


def weights_sha256(weights: list[tuple[np.ndarray, np.ndarray]]) -> str:
    digest = hashlib.sha256()
    for weight, bias in weights:
        digest.update(np.ascontiguousarray(weight, "<f4").tobytes())
        digest.update(np.ascontiguousarray(bias, "<f4").tobytes())
    return digest.hexdigest()


class RandomCNNExtractor(FeatureExtractor):
    name = "randcnn"
    dims = CHANNELS[-1] * POOLED_GRID * POOLED_GRID

    def __init__(self) -> None:
        self._net: nn.Module | None = None
        self._sha: str | None = None

    def _weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        weights = draw_weights()
        self._sha = weights_sha256(weights)
        if self._sha != WEIGHTS_SHA256:
            raise MetricUnavailable(
                f"the random-CNN weights drawn here hash to {self._sha[:12]}…, not the pinned "
                f"{WEIGHTS_SHA256[:12]}…; values would not be comparable across machines"
            )
        return weights

    def identity(self) -> str:
        if self._sha is None:
            self._weights()
        return f"randcnn-v2-{WEIGHTS_SHA256[:12]}"

    def network(self, device: torch.device) -> nn.Module:
        if self._net is None:
            self._net = _RandomConvNet(self._weights())
        return self._net.to(device)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        gray = images.mean(dim=1, keepdim=True) if images.shape[1] != 1 else images
        gray = gray * 2.0 - 1.0
        kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]],
                              device=gray.device).view(1, 1, 3, 3)
        high_pass = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel)
        return torch.cat([gray, LAPLACIAN_GAIN * high_pass], dim=1)

    def describe(self) -> dict[str, Any]:
        return {
            "extractor": self.identity(),
            "weights_sha256": WEIGHTS_SHA256,
            "architecture": f"4 random 3x3 conv+ReLU layers {CHANNELS}, avg-pool between, "
                            f"final {POOLED_GRID}x{POOLED_GRID} average pool",
            "dims": self.dims,
            "preprocessing": f"grayscale scaled to [-1, 1] at the image's own size, plus its "
                             f"Laplacian x{LAPLACIAN_GAIN:g} as a second channel",
        }
