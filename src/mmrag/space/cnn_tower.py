"""The starter image tower: a small CNN trained from scratch (its training augmentation is ``train.augment``).

``ConvTower`` is a compact residual CNN chosen for CPU speed: four stages,
each a strided 3×3 conv then one residual block, BatchNorm + ReLU, global
average pooling, a linear projection into the text space, L2-normalised.
At 64 px it costs ~0.1 GFLOP per image, so an epoch over ~10k pictures runs
in about a minute on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class TowerConfig:
    arch: str = "convtower"
    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    out_dim: int = 384
    dropout: float = 0.1

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TowerConfig:
        return cls(
            arch=str(d.get("arch", "convtower")),
            image_size=int(d["image_size"]),
            widths=tuple(int(w) for w in d["widths"]),
            out_dim=int(d["out_dim"]),
            dropout=float(d.get("dropout", 0.0)),
        )


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c, c, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.body(x))


def conv_stages(cin: int, widths: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    """Strided 3×3 conv + one residual block per width; returns the stack and its output channels."""
    layers: list[nn.Module] = []
    for w in widths:
        layers += [conv_bn(cin, w, 2), Residual(w)]
        cin = w
    return nn.Sequential(*layers), cin


class ConvTower(nn.Module):
    """Pixels ``(N, 3, S, S)`` in [0, 1] → L2-normalised ``(N, out_dim)``."""

    mean: Tensor
    std: Tensor

    def __init__(self, cfg: TowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.features, cin = conv_stages(3, cfg.widths)
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cin, cfg.out_dim)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, pixels: Tensor) -> Tensor:
        x = (pixels - self.mean) / self.std
        x = self.features(x)
        x = x.mean(dim=(2, 3))
        return F.normalize(self.proj(self.drop(x)), dim=-1)


def build_tower(cfg: TowerConfig) -> nn.Module:
    if cfg.arch != "convtower":
        raise ValueError(f"unknown tower architecture '{cfg.arch}'")
    return ConvTower(cfg)


def center(batch: Tensor, out_size: int) -> Tensor:
    """Deterministic resize for evaluation/inference."""
    if batch.shape[-1] == out_size:
        return batch
    return F.interpolate(batch, size=(out_size, out_size), mode="bilinear", align_corners=False, antialias=True)


__all__ = ["ConvTower", "Residual", "TowerConfig", "build_tower", "center", "conv_bn", "conv_stages"]
