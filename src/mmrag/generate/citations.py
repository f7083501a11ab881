"""Citation markers: parse ``[n]``, ``[1, 3]``, ``[2-4]``; keep only numbers that were in the context.

The engine calls, after streaming a generator's text::

    answer = finalize(prompt, full_text, generator=gen.name)

``finalize`` rewrites every marker to hold only numbers the prompt really had
(``[2, 9]`` with 9 unknown -> ``[2]``; ``[9]`` alone is removed), records the
invented numbers in ``Answer.dropped_citations`` and maps each kept number to
its ``Hit`` (``Answer.citations``, in order of first use). An answer can
therefore never cite a source the user cannot open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mmrag.generate.prompt import Prompt
from mmrag.types import Answer, Citation, Hit

# a bracket holding only numbers, commas, ranges (hyphen or en dash) and spaces
MARKER = re.compile(r"\[\s*(\d{1,6}(?:\s*(?:,|-|–)\s*\d{1,6})*)\s*\]")
MAX_RANGE = 100  # [1-100000] is not a citation: only its ends are read


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    numbers: tuple[int, ...]


def parse_numbers(inner: str) -> tuple[int, ...]:
    """``"1, 3"`` -> (1, 3); ``"2-4"`` -> (2, 3, 4); duplicates removed, order kept."""
    out: list[int] = []
    for piece in re.split(r"\s*,\s*", inner.strip()):
        if not piece:
            continue
        ends = re.split(r"\s*[-–]\s*", piece)
        if len(ends) == 2 and ends[0] and ends[1]:
            lo, hi = int(ends[0]), int(ends[1])
            if lo <= hi and hi - lo <= MAX_RANGE:
                out.extend(range(lo, hi + 1))
            else:
                out.extend((lo, hi))
        else:
            out.extend(int(e) for e in ends if e)
    return tuple(dict.fromkeys(out))


def parse_citations(text: str) -> list[Marker]:
    """Every citation marker in ``text`` with its character range."""
    return [Marker(m.start(), m.end(), parse_numbers(m.group(1))) for m in MARKER.finditer(text)]


def _format(numbers: Iterable[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def check_citations(text: str, valid: Iterable[int]) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """Strip numbers not in ``valid``.

    Returns ``(clean_text, used, dropped)``: ``used`` in order of first
    appearance, ``dropped`` sorted. A marker whose numbers are all valid is left
    exactly as written; a partly valid one is rewritten; an invalid one is
    removed with the space before it.
    """
    allowed = set(valid)
    used: dict[int, None] = {}
    dropped: set[int] = set()
    pieces: list[str] = []
    pos = 0
    for marker in parse_citations(text):
        keep = [n for n in marker.numbers if n in allowed]
        dropped.update(n for n in marker.numbers if n not in allowed)
        used.update(dict.fromkeys(keep))
        before = text[pos : marker.start]
        if keep and len(keep) == len(marker.numbers):
            pieces.append(before + text[marker.start : marker.end])
        elif keep:
            pieces.append(before + _format(keep))
        else:
            pieces.append(before.rstrip(" \t"))
        pos = marker.end
    pieces.append(text[pos:])
    return "".join(pieces), tuple(used), tuple(sorted(dropped))


def finalize(
    prompt: Prompt,
    text: str,
    *,
    generator: str = "",
    timings: Mapping[str, float] | None = None,
) -> Answer:
    """Build the ``Answer``: checked text, citations mapped to the prompt's hits."""
    clean, used, dropped = check_citations(text.strip(), prompt.numbers)
    citations = []
    for n in used:
        hit: Hit | None = prompt.hit_for(n)
        if hit is not None:
            citations.append(Citation(n, hit))
    return Answer(
        text=clean.strip(),
        citations=tuple(citations),
        context=prompt.hits,
        generator=generator,
        dropped_citations=dropped,
        timings=MappingProxyType(dict(timings or {})),
    )


__all__ = ["MARKER", "Marker", "check_citations", "finalize", "parse_citations", "parse_numbers"]
