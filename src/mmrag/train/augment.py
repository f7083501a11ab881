"""Batch augmentation for training the starter image tower (``space.cnn_tower``)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def augment(batch: Tensor, out_size: int, generator: torch.Generator, strength: float = 1.0) -> Tensor:
    """Random resized crop (scale 0.55–1, aspect 3/4–4/3, small rotation),
    horizontal flip, brightness/contrast jitter. Colours keep their hue
    (captions name colours). ``batch`` is ``(N, 3, H, W)`` float in [0, 1]."""
    n = batch.shape[0]
    dev = batch.device

    def u(lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator).to(dev)

    scale = u(0.55, 1.0) if strength > 0 else torch.ones(n, device=dev)
    log_r = u(math.log(3 / 4), math.log(4 / 3)) * strength
    sx = torch.sqrt(scale * torch.exp(log_r))
    sy = torch.sqrt(scale / torch.exp(log_r))
    tx = (1 - sx) * u(-1.0, 1.0)
    ty = (1 - sy) * u(-1.0, 1.0)
    ang = u(-0.26, 0.26) * strength  # ±15°
    flip = torch.where(torch.rand(n, generator=generator).to(dev) < 0.5 * strength, -1.0, 1.0)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack(
        [torch.stack([sx * cos * flip, -sy * sin, tx], 1), torch.stack([sx * sin * flip, sy * cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, [n, 3, out_size, out_size], align_corners=False)
    # pad with white: sample (x - 1) with zero padding, then add 1 back
    out = F.grid_sample(batch - 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1.0
    bright = u(-0.15, 0.15).view(n, 1, 1, 1) * strength
    contrast = (1 + u(-0.25, 0.25) * strength).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean + bright
    return out.clamp(0.0, 1.0)


__all__ = ["augment"]
