"""Subtitles (SubRip ``.srt``, WebVTT ``.vtt``): timed cues, parsed by pure functions.

A video's subtitle file beside it (``film.mp4`` + ``film.srt``, ``ingest/captions.py``) is its
transcript: exact words, in any language, where the bundled English Whisper would mishear or
hear nothing; the video loader uses its cues instead of transcribing. A subtitle file indexed on
its own is read as its words (the cue numbers, times and styling left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_CUE_TIMES = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>\n]{0,200}>|\{\\[^}\n]{0,200}\}")  # <i>, <c.yellow>, <00:01.000>, {\an8}
MAX_CUES = 50_000


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``t0`` to ``t1`` seconds, its words on one line."""

    t0: float
    t1: float
    text: str


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")[:3]) / 1000


def parse_subtitles(text: str) -> list[Cue]:
    """The cues of an SRT or WebVTT text, in file order; styling tags and empty cues dropped (pure).

    Any block whose first or second line is ``start --> end`` is a cue; the lines after it, up to a
    blank line, are its words. A WebVTT header, NOTE and STYLE blocks have no times and are skipped."""
    cues: list[Cue] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    i = 0
    while i < len(lines) and len(cues) < MAX_CUES:
        m = _CUE_TIMES.match(lines[i])
        if m is None:
            i += 1
            continue
        t0 = _seconds(*m.group(1, 2, 3, 4))
        t1 = _seconds(*m.group(5, 6, 7, 8))
        words: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip():
            words.append(_TAG.sub("", lines[i]).strip())
            i += 1
        said = " ".join(" ".join(words).split())
        if said and t1 >= t0:
            cues.append(Cue(round(t0, 3), round(t1, 3), said))
    return cues


def looks_like_subtitles(text: str) -> bool:
    """A WebVTT file, or an SRT whose first cue's time line is within its first lines (pure)."""
    head = text.lstrip("\ufeff \t\r\n")[:2000]
    if head.startswith("WEBVTT"):
        return True
    first = head.split("\n")[:3]
    return any(_CUE_TIMES.match(line) for line in first)


def subtitle_text(text: str) -> str:
    """A subtitle file's words, a cue a line (for indexing the file on its own) (pure)."""
    return "\n".join(c.text for c in parse_subtitles(text))


__all__ = ["MAX_CUES", "Cue", "looks_like_subtitles", "parse_subtitles", "subtitle_text"]
