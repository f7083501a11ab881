"""Audio files (wav, mp3, flac, ogg, m4a ...): speech segments and sound windows.

- Speech: one ``Modality.AUDIO`` segment per transcribed clip (``text`` = the
  transcript, ``Span(t0, t1)``, thumbnail = the clip's waveform); clips are
  speech regions merged at pauses into pieces of up to ~28 s (see
  ``speech.group_regions``).
- Sound: every file also gets up to ``MAX_SOUND_WINDOWS`` windows of 30 s
  where little is said (music, noise, animal sounds ...). Their ``text`` is the
  file's tags (title, artist, comment ...) and file-name words, so they are
  found by text even with no audio tower; their ``audio`` is the window's
  16 kHz samples, for an audio tower when the space has one; their
  thumbnail is the window's waveform (``ingest/waveform.py``).

Memory: decoding runs in 5-minute windows (about 19 MB of float32 each) plus
the kept sound windows (at most 8 × 30 s ≈ 15 MB).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest import avio, speech
from mmrag.ingest.captions import subtitles_for
from mmrag.ingest.waveform import PeakTrack, waveform_png
from mmrag.types import HEARD_SEPARATOR, Modality, Segment, Span

SOUND_WINDOW_S = 30.0
MAX_SOUND_WINDOWS = 8
SPEECH_SHARE_MAX = 0.5  # a window with more speech than this is covered by speech segments


def sound_windows(
    duration: float, *, window_s: float = SOUND_WINDOW_S, most: int = MAX_SOUND_WINDOWS
) -> list[tuple[float, float]]:
    """Up to ``most`` evenly spread windows of ``window_s`` covering ``[0, duration]``. Pure."""
    if duration <= 0:
        return [(0.0, window_s)]
    n = int(np.ceil(duration / window_s))
    picks = sorted({round(i) for i in np.linspace(0, n - 1, min(n, most))})
    return [(k * window_s, min(duration, (k + 1) * window_s)) for k in picks]


def overlap(a: tuple[float, float], regions: list[tuple[float, float]]) -> float:
    """Seconds of ``regions`` inside interval ``a``. Pure."""
    return sum(max(0.0, min(a[1], r1) - max(a[0], r0)) for r0, r1 in regions)


class WindowKeeper:
    """Collects the samples of chosen windows while the file streams by."""

    def __init__(self, windows: list[tuple[float, float]]) -> None:
        self.windows = windows
        self.parts: list[list[np.ndarray]] = [[] for _ in windows]

    def __call__(self, t0: float, chunk: np.ndarray) -> None:
        t1 = t0 + len(chunk) / speech.SAMPLE_RATE
        for i, (w0, w1) in enumerate(self.windows):
            if t1 > w0 and t0 < w1:
                a = max(0, int((w0 - t0) * speech.SAMPLE_RATE))
                b = min(len(chunk), int(np.ceil((w1 - t0) * speech.SAMPLE_RATE)))
                if b > a:
                    self.parts[i].append(chunk[a:b].copy())

    def samples(self, i: int) -> np.ndarray:
        parts = self.parts[i]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


class AudioLoader:
    """Loader for the ``audio`` kind."""

    kinds: tuple[str, ...] = ("audio",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        speech.check_file(path, config.max_file_mb)
        info = speech.probe(path)
        if not info.has_audio:
            raise IngestError(source, "has no audio track; nothing to index")
        tags = speech.tags_text(path, info.tags)
        keeper = WindowKeeper(sound_windows(info.duration))
        track = PeakTrack(speech.SAMPLE_RATE)  # each speech segment's waveform, for its thumbnail

        def hook(t0: float, chunk: np.ndarray) -> None:
            keeper(t0, chunk)
            track(t0, chunk)

        regions: list[tuple[float, float]] = []
        n_speech = 0
        subtitles = subtitles_for(path, config)
        if subtitles is not None:  # a transcript beside the recording (a podcast's .vtt): its cues, nothing to hear
            said: Iterator[speech.SpeechSegment] = iter([speech.SpeechSegment(c.t0, c.t1, c.text) for c in subtitles[1]])
            regions = [(c.t0, c.t1) for c in subtitles[1]]
            avio.feed_audio(path, hook, source)
        else:
            said = speech.transcribe_file(
                path,
                model=config.whisper_model,
                vad=config.vad,
                language=config.language,
                regions_out=regions,
                chunk_hook=hook,
                beam_size=config.beam_size,
                alternatives=config.speech_alternatives,
            )
        for seg in said:
            n_speech += 1
            meta = {"kind": "speech", **({"caption_file": subtitles[0].name} if subtitles is not None else {})}
            if seg.alternatives:  # what else the recogniser may have heard (retrieve/heard.py matches it)
                meta["heard_also"] = HEARD_SEPARATOR.join(seg.alternatives)
            yield Segment(
                source=source,
                modality=Modality.AUDIO,
                span=Span(t0=seg.t0, t1=seg.t1),
                text=seg.text,
                thumbnail=track.span_png(seg.t0, seg.t1),  # the result grid shows what was said as a shape
                meta=meta,
            )
        decoded = sum(len(p) for parts in keeper.parts for p in parts)
        if decoded == 0 and n_speech == 0:
            raise IngestError(source, "no audio could be decoded; the file may be truncated or corrupt")
        yield from sound_segments(source, Modality.AUDIO, keeper, regions, tags, has_speech=n_speech > 0)


def sound_segments(
    source: str,
    modality: Modality,
    keeper: WindowKeeper,
    regions: list[tuple[float, float]],
    text: str,
    *,
    has_speech: bool,
    meta: dict[str, str] | None = None,
) -> Iterator[Segment]:
    """One segment per kept sound window where little is said, carrying its 16 kHz samples."""
    for i, (w0, _) in enumerate(keeper.windows):
        samples = keeper.samples(i)
        if not len(samples) or (i > 0 and len(samples) < speech.SAMPLE_RATE // 10):
            continue  # a window past the real end (the duration was a guess); a short first one is a short sound
        end = w0 + len(samples) / speech.SAMPLE_RATE
        if has_speech and overlap((w0, end), regions) > SPEECH_SHARE_MAX * (end - w0):
            continue
        yield Segment(
            source=source,
            modality=modality,
            span=Span(t0=round(w0, 3), t1=round(end, 3)),
            text=text,
            audio=samples,
            sample_rate=speech.SAMPLE_RATE,
            thumbnail=waveform_png(samples),  # the result grid shows its shape, as a photo's thumbnail
            meta={"kind": "sound", "part": "sound", **(meta or {})},
        )


__all__ = ["AudioLoader", "WindowKeeper", "overlap", "sound_segments", "sound_windows"]
