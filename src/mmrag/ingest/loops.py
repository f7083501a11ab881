"""Whisper's repetition loops, caught and decoded again.

Whisper sometimes falls into a loop on a stretch of speech ("No, no, no, no,
... " a hundred times for "Another good night not to sleep in a eucalyptus
tree"). A looped transcript is useless for search: its embedding says "no",
its words match nothing the speaker said. Sequential Whisper guards against
this with its *temperature fallback*: a window whose text compresses too well
(gzip ratio above 2.4) is decoded again at rising temperatures. faster-whisper's
``BatchedInferencePipeline``, which mmrag uses for speed, decodes only at the
first temperature and keeps the loop.

So after the batched pass, each packed window whose text compresses above
``COMPRESSION_MAX`` is decoded again by the sequential decoder with the
standard fallback (``WhisperModel.transcribe``, temperatures 0.0-1.0), with a
fixed random seed, on a model loaded for it (``speech.fresh_whisper_model``): CTranslate2
seeds a worker thread's random generator only the first time that thread samples, so on the
shared model the fallback's samples depended on what the process had sampled before (CI runs
heard the test recording as "... eucalyptus tree", once "... ukalyptas tree!", once "I hope you
enjoyed the video." three times). Only looped windows pay for it (the load: ~0.5 s). Any loop left after that is cut down to ``MAX_REPEATS``
copies (``collapse_repeats``), so what is stored reads like what was said.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

COMPRESSION_MAX = 2.4  # Whisper's own threshold (compression_ratio_threshold)
MAX_REPEATS = 2  # copies of a repeated word group kept by ``collapse_repeats``
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # Whisper's defaults
SEED = 0


def compression_ratio(text: str) -> float:
    """gzip compression ratio of ``text`` (Whisper's loop detector). Pure."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def looped(text: str, *, threshold: float = COMPRESSION_MAX) -> bool:
    """Whether a window's transcript is a repetition loop (compresses above ``threshold``). Pure."""
    return compression_ratio(text) > threshold


def collapse_repeats(text: str, *, keep: int = MAX_REPEATS) -> str:
    """Cut every run of a word group repeated more than ``keep`` times in a row down to ``keep``
    copies ("no, no, no, no, no, I" -> "no, no, I"). Pure."""
    pattern = re.compile(rf"(\b\S.{{0,59}}?[\s,.;!?]+)(?:\1){{{keep},}}", re.DOTALL)
    padded = text.strip() + " "
    return pattern.sub(lambda m: m.group(1) * keep, padded).strip()


def window_of(t: float, windows: Sequence[Mapping[str, float]]) -> int:
    """Index of the packed window holding time ``t`` (the last one starting at or before it). Pure."""
    starts = [w["start"] for w in windows]
    return max(0, int(np.searchsorted(starts, t + 1e-6, side="right")) - 1)


def looped_windows(segments: Sequence[Any], windows: Sequence[Mapping[str, float]]) -> set[int]:
    """The windows whose joined segment text is a loop. Pure."""
    texts: dict[int, list[str]] = {}
    for seg in segments:
        texts.setdefault(window_of(float(seg.start), windows), []).append(seg.text or "")
    return {w for w, parts in texts.items() if looped(" ".join(p.strip() for p in parts))}


def redecode(
    load_model: Callable[[], Any],
    packed: np.ndarray,
    windows: Sequence[Mapping[str, float]],
    segments: Sequence[Any],
    *,
    language: str | None,
    beam_size: int,
    sample_rate: int = 16000,
) -> list[Any]:
    """``segments`` of a batched pass with every looped window decoded again sequentially, with
    Whisper's temperature fallback, by a model from ``load_model`` (called once, only when a window
    looped: a model whose threads have not sampled, so the seed holds); times stay in packed time,
    word timestamps kept."""
    bad = looped_windows(segments, windows)
    if not bad:
        return list(segments)
    import ctranslate2

    ctranslate2.set_random_seed(SEED)  # before the new model's threads first sample: they are seeded with it
    model = load_model()
    kept = [s for s in segments if window_of(float(s.start), windows) not in bad]
    for w in sorted(bad):
        a, b = windows[w]["start"], windows[w]["end"]
        clip = packed[int(a * sample_rate) : int(b * sample_rate)]
        segs, _ = model.transcribe(
            clip,
            language=language,
            beam_size=beam_size,
            temperature=list(FALLBACK_TEMPERATURES),
            compression_ratio_threshold=COMPRESSION_MAX,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=False,
        )
        for s in segs:
            if looped(s.text):  # every temperature looped: keep the collapsed text as one piece
                kept.append(dataclasses.replace(s, start=s.start + a, end=s.end + a, text=collapse_repeats(s.text), words=None))
                continue
            words = [dataclasses.replace(x, start=x.start + a, end=x.end + a) for x in s.words or []]
            kept.append(dataclasses.replace(s, start=s.start + a, end=s.end + a, words=words or None))
    return sorted(kept, key=lambda s: float(s.start))


__all__ = [
    "COMPRESSION_MAX",
    "collapse_repeats",
    "compression_ratio",
    "looped",
    "looped_windows",
    "redecode",
    "window_of",
]
