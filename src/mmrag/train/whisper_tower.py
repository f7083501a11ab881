"""A sound tower on Whisper's frozen encoder: pooled encoder states + a small bound head (training side).

The backbone's features (pooled Whisper tiny.en encoder states over the frames that hold a clip,
30 s windows for longer clips) come from ``space/whisper_states.py``, which search and ingest use
too, without torch (``space/sound_tower.py`` runs a trained head in numpy). Here the head is bound
to the text space by mmrag's contrastive trainer (LiT recipe: the backbone stays frozen, only the
head learns); the training views are cached.

The head itself (``WhisperHead``) is a model of the space: ``space/whisper_head.py``.

Training never runs the encoder twice: the pooled states of each clip (the
whole clip plus ``VIEWS`` random sub-crops, for augmentation) are cached on
disk next to the decoded sounds (``whisper_views``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mmrag.space.whisper_states import BACKBONE, SAMPLES_PER_FRAME, STATE_DIM, encode_states, pool

VIEWS = 4  # random sub-crops cached per training clip, besides the whole clip


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
    "whisper_views",
]
