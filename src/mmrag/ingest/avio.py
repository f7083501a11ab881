"""Media I/O with PyAV: file checks, probing (duration, streams, tags) and audio decoding
to 16 kHz mono float32, streamed in chunks. Shared by the audio and video loaders and by
spoken queries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.errors import IngestError, MissingDependency
from mmrag.ingest.sniffing import RAW_AUDIO  # extension -> FFmpeg demuxer of headerless telephony audio
from mmrag.space.whisper import SAMPLE_RATE, to_mono16k

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class MediaInfo:
    """What a quick probe of a media file says."""

    duration: float  # seconds (0.0 when the container does not say)
    has_audio: bool
    has_video: bool
    tags: Mapping[str, str]


def open_media(av: Any, path: Path) -> Any:
    """``av.open`` for reading; a headerless telephony file (``RAW_AUDIO``) by its extension."""
    fmt, options = RAW_AUDIO.get(path.suffix.lower(), (None, {}))
    return av.open(str(path), format=fmt, options=dict(options) or None, metadata_errors="ignore")


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


def require_av() -> Any:
    """The ``av`` module, or ``MissingDependency`` with the install command."""
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

    av = require_av()
    try:
        with open_media(av, path) as container:
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
            str(path), f"not a readable media file ({short_error(exc)}); it may be truncated or corrupt"
        ) from None


def tags_text(path: Path, tags: Mapping[str, str]) -> str:
    """Tags and file-name words as one searchable line."""
    parts = [f"{k}: {v}" for k, v in tags.items()]
    parts.append(name_words(path))
    return " — ".join(p for p in parts if p)


def short_error(exc: BaseException) -> str:
    """The gist of an FFmpeg error, without errno and file path."""
    text = str(exc)
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text.split(":")[0].strip() or type(exc).__name__


# --------------------------------------------------------------------------- decoding


def iter_audio(path: Path, *, max_s: float | None = None) -> Iterator[np.ndarray]:
    """Stream the first audio track as 16 kHz mono float32 chunks.

    Raises ``IngestError`` for unreadable files or files without audio.
    """
    av = require_av()
    limit = None if max_s is None else int(max_s * SAMPLE_RATE)
    done = 0
    try:
        with open_media(av, path) as container:
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
                str(path),
                f"cannot decode its audio ({short_error(exc)}); the file may be truncated or corrupt",
            ) from None
        # a truncated tail: keep what decoded (a partial recording is still useful)


def feed_audio(path: Path, hook: Any, source: str = "") -> float:
    """Stream the audio track into ``hook(t0, chunk)`` (16 kHz mono float32, ``t0`` in seconds); the
    seconds fed. A track that cannot be decoded is logged and feeds nothing: the caller's other content
    (pictures, subtitles) still lands."""
    t = 0.0
    try:
        for chunk in iter_audio(path):
            hook(t, chunk)
            t += len(chunk) / SAMPLE_RATE
    except IngestError as exc:
        log.warning("%s: audio track skipped: %s", source or path, exc.reason)
    return t


def decode_audio(path: Path, *, max_s: float | None = None) -> tuple[np.ndarray, int]:
    """``(samples, 16000)``: the whole (or the first ``max_s`` seconds of the) audio track, mono float32."""
    chunks = list(iter_audio(Path(path), max_s=max_s))
    return (np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)), SAMPLE_RATE


__all__ = [
    "SAMPLE_RATE",
    "MediaInfo",
    "check_file",
    "decode_audio",
    "feed_audio",
    "iter_audio",
    "name_words",
    "probe",
    "require_av",
    "short_error",
    "tags_text",
    "to_mono16k",
]
