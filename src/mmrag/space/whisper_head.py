"""The Whisper sound tower's head as a torch module: pooled Whisper encoder states -> the text space.

``WhisperHead`` (~0.6 M parameters): LayerNorm, Linear 768->512, GELU, dropout, Linear
512->text dim, L2-normalised. Trained by ``train.whisper_tower`` (which also caches the training
views); search runs the same trained head in numpy (``space/sound_tower.py``), so this module is
for training and for loading a checkpoint into torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmrag.space.whisper_states import BACKBONE, SAMPLE_RATE, STATE_DIM, pooled_clips


@dataclass(frozen=True)
class WhisperTowerConfig:
    arch: str = "whisper"
    sample_rate: int = SAMPLE_RATE
    clip_seconds: float = 4.0  # training sub-crop length (inference pools the whole clip)
    state_dim: int = STATE_DIM
    hidden: int = 512
    out_dim: int = 384
    dropout: float = 0.1
    backbone: str = BACKBONE

    @property
    def clip_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = asdict(self)
        d["modality"] = "audio"
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WhisperTowerConfig:
        return cls(
            arch=str(d.get("arch", "whisper")),
            sample_rate=int(d.get("sample_rate", SAMPLE_RATE)),
            clip_seconds=float(d.get("clip_seconds", 4.0)),
            state_dim=int(d.get("state_dim", STATE_DIM)),
            hidden=int(d.get("hidden", 512)),
            out_dim=int(d["out_dim"]),
            dropout=float(d.get("dropout", 0.0)),
            backbone=str(d.get("backbone", BACKBONE)),
        )


class WhisperHead(nn.Module):
    """Pooled Whisper states ``(N, 2 * state_dim)`` -> L2-normalised ``(N, out_dim)``."""

    def __init__(self, cfg: WhisperTowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(2 * cfg.state_dim)
        self.fc1 = nn.Linear(2 * cfg.state_dim, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc2 = nn.Linear(cfg.hidden, cfg.out_dim)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.gelu(self.fc1(self.norm(pooled))))
        return F.normalize(self.fc2(x), dim=-1)


def embed_whisper(model: WhisperHead, clips: Sequence[np.ndarray]) -> np.ndarray:
    """One L2-normalised vector per clip: the head over each window's pooled states, averaged."""
    from mmrag.space.base import owner_means

    if not clips:
        return np.zeros((0, model.cfg.out_dim), dtype=np.float32)
    pooled, owners = pooled_clips(clips)
    was = model.training
    model.eval()
    with torch.inference_mode():
        vecs = model(torch.from_numpy(pooled)).float().numpy()
    model.train(was)
    return owner_means(vecs, owners, len(clips))


__all__ = ["WhisperHead", "WhisperTowerConfig", "embed_whisper"]
