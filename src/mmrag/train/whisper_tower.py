"""A sound tower on Whisper's frozen encoder: pooled encoder states + a small bound head (training side).

The backbone's features (pooled Whisper tiny.en encoder states over the frames that hold a clip,
30 s windows for longer clips) come from ``space/whisper_states.py``, which search and ingest use
too, without torch (``space/sound_tower.py`` runs a trained head in numpy). Here the head is bound
to the text space by mmrag's contrastive trainer (LiT recipe: the backbone stays frozen, only the
head learns); the training views are cached.

- Head (``WhisperHead``, the trained part, ~0.6 M parameters): LayerNorm,
  Linear 768->512, GELU, dropout, Linear 512->text dim, L2-normalised.

Training never runs the encoder twice: the pooled states of each clip (the
whole clip plus ``VIEWS`` random sub-crops, for augmentation) are cached on
disk next to the decoded sounds (``whisper_views``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmrag.space.whisper_states import (
    BACKBONE,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    STATE_DIM,
    encode_states,
    pool,
    pooled_clips,
)

VIEWS = 4  # random sub-crops cached per training clip, besides the whole clip


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


# ------------------------------------------------------------------ training views (cached)


def whisper_views(
    clips: Sequence[np.ndarray],
    crop_samples: int,
    cache: Path,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> np.ndarray:
    """``(N, 1 + VIEWS, 2 * dim)`` pooled states per clip: the whole clip, then ``VIEWS`` random
    sub-crops of ``crop_samples`` (sub-ranges of the whole clip's states). Cached in ``cache``."""
    if not clips:
        return np.zeros((0, 1 + VIEWS, 2 * STATE_DIM), dtype=np.float32)
    h = hashlib.sha256(f"{BACKBONE}|{crop_samples}|{seed}|{VIEWS}".encode())
    for c in clips:
        h.update(np.asarray(c, dtype=np.float32).tobytes()[:4096])
        h.update(str(len(c)).encode())
    file = cache / f"whisper-views-{h.hexdigest()[:16]}.npy"
    if file.exists():
        return np.load(file)
    rng = np.random.default_rng(seed)
    crop_frames = max(1, crop_samples // SAMPLES_PER_FRAME)
    out = np.zeros((len(clips), 1 + VIEWS, 2 * STATE_DIM), dtype=np.float32)
    step = 32
    for s in range(0, len(clips), step):
        states = encode_states(list(clips[s : s + step]))
        for j, st in enumerate(states):
            used = max(1, math.ceil(len(clips[s + j]) / SAMPLES_PER_FRAME))
            st = st[: min(len(st), used)]
            out[s + j, 0] = pool(st)
            for v in range(VIEWS):
                if len(st) <= crop_frames:
                    a, b = sorted(rng.integers(0, len(st) + 1, 2))
                    a, b = (0, len(st)) if b - a < max(2, len(st) // 2) else (a, b)
                else:
                    a = int(rng.integers(0, len(st) - crop_frames + 1))
                    b = a + crop_frames
                out[s + j, 1 + v] = pool(st[a:b])
        if progress:
            progress("whisper states", min(s + step, len(clips)), len(clips))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(file, out)
    return out


__all__ = [
    "BACKBONE",
    "VIEWS",
    "WhisperHead",
    "WhisperTowerConfig",
    "embed_whisper",
    "whisper_views",
]
