"""A sound tower on Whisper's encoder at search and ingest time, in numpy (no torch).

A Whisper-encoder tower (``mmrag train --mode bind --modality audio --backbone whisper``) is a
small head over pooled encoder states (``space/whisper_states.py``): LayerNorm, Linear, GELU,
Linear, L2 norm. Training runs it in torch (``space/whisper_head.WhisperHead``); here the same
weights run in numpy, so loading a space with a sound tower (every CLI call on such an index)
never imports torch, and a clip costs one encoder pass plus a few small matrix products.

The shipped default (``mmrag/weights/sound0``) is such a tower; its folder also carries
``background.npz``, the tower's vectors of a few hundred reference sounds, which top up the
calibration background of an index with only a few sounds (``space/references.py``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import QueryError, TrainingError

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, as trained
HEAD_KEYS = ("norm.weight", "norm.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


@dataclass(frozen=True)
class HeadWeights:
    """The trained head's parameters, float32 (``fc*_w``: ``(out, in)`` as torch stores them)."""

    norm_w: np.ndarray
    norm_b: np.ndarray
    fc1_w: np.ndarray
    fc1_b: np.ndarray
    fc2_w: np.ndarray
    fc2_b: np.ndarray

    @property
    def out_dim(self) -> int:
        return int(self.fc2_w.shape[0])


def _erf(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf

        return np.asarray(erf(x), dtype=np.float32)
    except ImportError:  # scipy is optional: the same function, one value at a time
        return np.vectorize(math.erf, otypes=[np.float32])(x)


def head_forward(w: HeadWeights, pooled: np.ndarray) -> np.ndarray:
    """``(N, 2 * state_dim)`` pooled states -> L2-normalised ``(N, out_dim)``: the trained head
    (``WhisperHead`` in eval mode: LayerNorm, Linear, exact GELU, Linear, normalise). Pure."""
    x = np.asarray(pooled, dtype=np.float32)
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    x = (x - mu) / np.sqrt(var + LAYER_NORM_EPS) * w.norm_w + w.norm_b
    h = x @ w.fc1_w.T + w.fc1_b
    h = 0.5 * h * (1.0 + _erf(h / np.float32(math.sqrt(2.0))))
    y = h @ w.fc2_w.T + w.fc2_b
    return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def read_head(path: Path) -> HeadWeights:
    """The head's weights from a tower's ``tower.safetensors`` (float16 or float32 on disk)."""
    from safetensors.numpy import load_file

    try:
        state = load_file(str(path))
        arrays = [np.asarray(state[k], dtype=np.float32) for k in HEAD_KEYS]
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for bad files
        raise TrainingError(f"cannot load the sound tower weights {path} ({type(exc).__name__}: {exc}); re-train or re-copy it") from None
    extra = sorted(set(state) - set(HEAD_KEYS))
    w = HeadWeights(*arrays)
    if extra or w.fc1_w.shape[1] != w.norm_w.shape[0] or w.fc2_w.shape[1] != w.fc1_w.shape[0]:
        raise TrainingError(f"{path} is not a Whisper sound-tower head (unexpected keys {extra[:3]} or shapes); re-train it")
    return w


def mono_clips(items: Sequence[Any]) -> list[np.ndarray]:
    """``(samples, sample_rate)`` items -> 16 kHz mono float32 clips in [-1, 1] (non-finite values zeroed);
    a clear ``QueryError`` for anything else."""
    from mmrag.space.whisper import to_mono16k

    clips: list[np.ndarray] = []
    for i, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise QueryError(f"audio tower item {i} is a {type(item).__name__}, not a (samples, sample_rate) tuple")
        samples, rate = item
        try:
            x = to_mono16k(np.asarray(samples, dtype=np.float32), int(rate))
        except (TypeError, ValueError) as exc:
            raise QueryError(f"audio tower item {i} is not a numeric sample array ({exc})") from None
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        clips.append(np.clip(x, -1.0, 1.0))
    return clips


@dataclass
class WhisperSoundEncoder:
    """A Whisper-encoder sound tower as a space ``Encoder`` (items are ``(samples, sample_rate)``).

    A clip's vector is the renormalised mean of the head over its ≤ 30 s windows (silent ones
    dropped). ``reference``: the tower's vectors of reference sounds (calibration top-up), if shipped."""

    id: str
    dim: int
    weights: HeadWeights
    text_encoder: str
    meta: Mapping[str, Any]
    reference: np.ndarray | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encode(self, items: Sequence[Any], *, query: bool = False) -> np.ndarray:
        from mmrag.space.base import owner_means
        from mmrag.space.whisper_states import pooled_clips

        clips = mono_clips(items)
        if not clips:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # one encoder pass at a time: the CTranslate2 model is shared with speech
            pooled, owners = pooled_clips(clips)
        return owner_means(head_forward(self.weights, pooled), owners, len(clips))


__all__ = ["HeadWeights", "WhisperSoundEncoder", "head_forward", "mono_clips", "read_head"]
