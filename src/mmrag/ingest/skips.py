"""Speech the batched Whisper pass skipped, found and decoded again.

mmrag packs the VAD's speech regions into full Whisper windows and decodes
them in batches (faster-whisper's ``BatchedInferencePipeline``). Each window is
decoded once: where Whisper's timestamps stop early, the rest of the window is
never heard. Sequential Whisper would seek to the last timestamp and go on; the
batched pass does not. With the index's beam search (5), 15 of 45 windows of
five ~290 s recordings ended with 1.8-6.6 s of speech that no segment covered
(bench/README.md, *Speech the batched pass skipped*): sentences the index
never held, so no question about them could find them.

A packed window holds only speech (and 0.3 s gaps), so a stretch of it that no
word covers is speech that was not decoded. ``uncovered`` finds every such
stretch longer than ``SKIP_S`` (on those recordings, windows decoded in full
left at most 1.26 s between words); ``fill`` decodes just those stretches again,
batched, at temperature 0 (no sampling, so the same text every run), and adds
what is heard there. A stretch that holds no speech after all (a cough the VAD
let through) comes back empty or as noise, which the caller drops as before; a
window in which nothing at all was heard is not decoded again (the same audio
would give the same nothing), so sound effects cost no more than before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mmrag.ingest.loops import window_of

SKIP_S = 1.5  # a stretch of a packed window this long with no word in it was skipped


def _covered(seg: Any) -> list[tuple[float, float]]:
    """What one faster-whisper segment covers: its words' spans, or the whole segment without them."""
    words = [(float(w.start), float(w.end)) for w in seg.words or []]
    return words or [(float(seg.start), float(seg.end))]


def uncovered(
    segments: Sequence[Any], windows: Sequence[Mapping[str, float]], *, min_s: float = SKIP_S
) -> list[tuple[float, float]]:
    """The stretches of the ``windows`` (packed time) at least ``min_s`` long that no word of
    ``segments`` covers, in time order. A window in which nothing at all was heard has none: decoding
    the same audio again would hear the same nothing (a sound effect the VAD let through). Pure."""
    spans = sorted(span for seg in segments for span in _covered(seg))
    out: list[tuple[float, float]] = []
    for w in windows:
        a, b = float(w["start"]), float(w["end"])
        inside = [(s, e) for s, e in spans if e > a and s < b]
        if not inside:
            continue
        pos = a
        for s, e in inside:
            if s - pos >= min_s:
                out.append((pos, s))
            pos = max(pos, e)
        if b - pos >= min_s:
            out.append((pos, b))
    return out


def decode_clips(
    pipeline: Any, packed: np.ndarray, clips: Sequence[Mapping[str, float]], *, language: str | None, beam_size: int,
    batch_size: int,
) -> list[Any]:
    """What ``pipeline`` (a ``BatchedInferencePipeline``) hears in each clip (``{"start", "end"}`` in
    seconds) of ``packed``, in one batched pass with word timestamps (nearly free next to the encoder; they let
    segments follow the real pauses) and no VAD (the clips are speech already). The main pass
    (``speech.transcribe``) and the refill of skipped stretches (``fill``) both decode this way."""
    found, _ = pipeline.transcribe(
        packed,
        language=language,
        clip_timestamps=list(clips),
        batch_size=batch_size,
        beam_size=beam_size,
        without_timestamps=False,
        word_timestamps=True,
        vad_filter=False,
    )
    return list(found)


def fill(
    pipeline: Any,
    packed: np.ndarray,
    segments: Sequence[Any],
    stretches: Sequence[tuple[float, float]],
    *,
    language: str | None,
    beam_size: int,
    batch_size: int = 8,
) -> list[Any]:
    """``segments`` plus what ``pipeline`` (a ``BatchedInferencePipeline``) hears in each of the
    ``stretches`` of ``packed``, decoded at temperature 0 with word timestamps; times in packed
    time; sorted by start. A word heard across a stretch's edge keeps only its part inside it."""
    if not stretches:
        return list(segments)
    clips = [{"start": a, "end": b} for a, b in sorted(stretches)]
    found = decode_clips(pipeline, packed, clips, language=language, beam_size=beam_size, batch_size=batch_size)
    added: list[Any] = []
    for seg in found:
        # the stretch it was heard in: the last one starting at or before it (Whisper may place an end
        # past its clip, never a start before it)
        clip = clips[window_of(float(seg.start), clips)]
        a, b = clip["start"], clip["end"]
        words = [
            dataclasses.replace(w, start=max(a, float(w.start)), end=min(b, float(w.end)))
            for w in seg.words or []
            if float(w.end) > a and float(w.start) < b
        ]
        start, end = max(a, float(seg.start)), min(b, float(seg.end))
        if (seg.words and not words) or end <= start:
            continue
        added.append(dataclasses.replace(seg, start=start, end=end, words=words or None))
    return sorted([*segments, *added], key=lambda s: float(s.start))


__all__ = ["SKIP_S", "decode_clips", "fill", "uncovered"]
