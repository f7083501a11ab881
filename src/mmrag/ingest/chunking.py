"""Split text into overlapping word windows with exact character offsets.

Pure functions. ``chunk_text(text, 160, 32)`` returns ``Chunk``s whose
``text == source[start:end]``; every non-space character of the source lies in
at least one chunk; a chunk ends before the first Markdown heading (ATX or
setext) after a quarter of its window, so each section but the smallest
starts a chunk of its own, even at a text's end; else at a paragraph break
when one falls in the second half of its window (never right after a
heading), else at a sentence end, else at a line break, else after exactly
``chunk_words`` words. Consecutive chunks share at most ``chunk_overlap``
words (fewer when the overlap can start at a sentence; none when the next
chunk starts at a heading: a new section).

``sectioned`` tells each chunk the Markdown headings it falls under (those in force at its middle), which
the loaders keep as ``meta["section"]``.

A "word" is a run of non-space characters; CJK ideographs and kana count one
word each (those scripts have no spaces), and a run longer than
``MAX_WORD_CHARS`` (base64, minified code) is cut into pieces, so a chunk is
never unboundedly long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mmrag.errors import ConfigError
from mmrag.markdown import Heading, Trail, is_heading, setext_level, under

MAX_WORD_CHARS = 40
SECTION = 4  # the rank of a cut before a heading line (``_cut_rank``)
SECTION_SHARE = 4  # a chunk ends at the first heading after a quarter of its window (``section_words``)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]{{1,{MAX_WORD_CHARS}}}")
_SENTENCE_ENDS = set(".!?\u3002\uff01\uff1f\u2026")
_CLOSERS = "\"'\u201d\u2019)]"


@dataclass(frozen=True)
class Chunk:
    """``text`` is exactly ``source[start:end]``."""

    text: str
    start: int
    end: int


_WORDY = re.compile(r"[^\W\d_]{2}")  # two letters in a row, any script


def has_words(text: str) -> bool:
    """Whether ``text`` says something: a word of two or more letters, not only a page number (``- 3 -``,
    ``p. 3``), single letters or marks (pure)."""
    return _WORDY.search(text) is not None


def check_params(chunk_words: int, chunk_overlap: int) -> None:
    """``ConfigError`` unless ``chunk_words >= 1`` and ``0 <= chunk_overlap < chunk_words``."""
    if not isinstance(chunk_words, int) or chunk_words < 1:
        raise ConfigError(f"ingest.chunk_words must be an integer >= 1, got {chunk_words!r}. Fix the value.")
    if not isinstance(chunk_overlap, int) or not 0 <= chunk_overlap < chunk_words:
        raise ConfigError(
            f"ingest.chunk_overlap must be >= 0 and smaller than chunk_words ({chunk_words}), "
            f"got {chunk_overlap!r}. Fix the value."
        )


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word, in order."""
    return [m.span() for m in _WORD.finditer(text)]


def _line_start(text: str, at: int) -> int:
    """Where the line that holds the character at ``at`` starts (pure)."""
    return text.rfind("\n", 0, at) + 1


def _line_at(text: str, at: int) -> str:
    """The line of ``text`` that holds the character at ``at`` (pure)."""
    end = text.find("\n", at)
    return text[_line_start(text, at) : end if end >= 0 else len(text)]


def _under_setext(text: str, rule_at: int) -> bool:
    """Whether the word at ``rule_at`` is on a setext heading's rule (``-----`` under ``Install``) (pure)."""
    line = _line_start(text, rule_at)
    return line > 0 and setext_level(text, _line_start(text, line - 1)) > 0


def _cut_rank(text: str, prev: tuple[int, int], nxt_start: int, setext: bool) -> int:
    """How good a cut is between a word ``prev`` and the next word starting at ``nxt_start``: 4 a paragraph
    break before a Markdown heading (``## Install``, or ``Install`` over ``-------``: a section starts), 3
    another paragraph break, 2 sentence end, 1 line break, 0 mid-line, and 0 right after a heading, even
    before another one (a chunk never ends on a title) or between a setext heading's words and its rule (setext headings read
    with ``setext``: ``markdown.headings``)."""
    gap = text[prev[1] : nxt_start]
    breaks = gap.count("\n") + gap.count("\r") - gap.count("\r\n")
    if breaks >= 2:
        if is_heading(_line_at(text, prev[0]).lstrip()) or (setext and text[prev[0]] in "=-" and _under_setext(text, prev[0])):
            return 0  # right after a title, even before another one (``# Manual`` over ``## 1 Lamp room``)
        if text[nxt_start] == "#" and is_heading(_line_at(text, nxt_start).lstrip()):
            return SECTION
        if setext and setext_level(text, _line_start(text, nxt_start)):
            return SECTION
        return 3
    if setext and breaks == 1 and text[nxt_start] in "=-" and _under_setext(text, nxt_start):
        return 0
    if text[prev[0] : prev[1]].rstrip(_CLOSERS)[-1:] in _SENTENCE_ENDS:
        return 2
    return 1 if breaks == 1 else 0


def section_words(chunk_words: int) -> int:
    """The words a chunk holds at least before it ends at a heading: a quarter of the window (40 of 160), so a
    section of a few lines (a manual's SYNOPSIS, an API entry) shares a chunk with the next one (pure)."""
    return max(1, chunk_words // SECTION_SHARE)


def iter_chunks(text: str, chunk_words: int = 160, chunk_overlap: int = 32, setext: bool = False) -> Iterator[Chunk]:
    """Yield the chunks of ``text`` in order (see the module docstring); ``setext``: a Markdown file a person
    wrote, whose underlined titles are headings too (``markdown.headings``).

    Words are read lazily, so memory stays bounded by the window, not the text.
    """
    check_params(chunk_words, chunk_overlap)
    words = (m.span() for m in _WORD.finditer(text))
    spans: list[tuple[int, int]] = []  # a sliding window of the words
    ranks: list[int] = []  # ranks[k]: how good a cut before word k is (see _cut_rank)
    exhausted = False
    i = 0  # index into ``spans`` of the current chunk's first word
    prev_end = 0  # the previous chunk ended before word ``prev_end``: the next one must pass it
    while True:
        if i > 4 * chunk_words:  # drop consumed words now and then
            del spans[:i], ranks[:i]
            prev_end -= i
            i = 0
        while not exhausted and len(spans) <= i + chunk_words:
            span = next(words, None)
            if span is None:
                exhausted = True
            else:
                ranks.append(_cut_rank(text, spans[-1], span[0], setext) if spans else 0)
                spans.append(span)
        n = len(spans)
        if i >= n:
            return
        end = n if n - i <= chunk_words else i + chunk_words  # n - i <= chunk_words: only once exhausted
        # A section starts its own chunk: cut before the first heading after a few words (a small section
        # before it is joined to the next); else the best cut in the second half of the window, later cuts
        # winning ties.
        best_rank = 0
        for k in range(max(i + section_words(chunk_words), prev_end + 1), min(i + chunk_words, n - 1) + 1):
            if ranks[k] == SECTION:
                best_rank, end = SECTION, k
                break
        if best_rank < SECTION and n - i > chunk_words:
            for k in range(i + chunk_words, max(i + chunk_words // 2, prev_end), -1):
                if ranks[k] > best_rank:
                    best_rank, end = ranks[k], k
        start_char, end_char = spans[i][0], spans[end - 1][1]
        yield Chunk(text[start_char:end_char], start_char, end_char)
        if end >= n:
            return
        prev_end = end
        if ranks[end] == SECTION:  # a new section: its chunk starts at its heading, with nothing of the last one
            i = end
            continue
        nxt = end - chunk_overlap
        # Start the overlap at a sentence start when the window has one.
        for m in range(max(nxt, 1), end):
            if ranks[m] >= 2:
                nxt = m
                break
        i = max(nxt, i + 1)


def sectioned(marks: Sequence[Heading], chunks: Iterable[Chunk], before: Trail = ()) -> Iterator[tuple[Chunk, Trail]]:
    """Each chunk of a text whose headings are ``marks`` (``markdown.headings``) with those in force at its middle, outermost first: where most of
    its words are (a chunk that opens with ``# Bread`` and ``## Starter`` is in "Bread > Starter"; one that
    starts with the last lines of a section and goes on into the next is in the next). ``before``: those in
    force where the text starts (a PDF's previous page). Lazy over ``chunks`` (pure)."""
    h, trail = 0, before
    for chunk in chunks:
        middle = (chunk.start + chunk.end) // 2
        while h < len(marks) and marks[h][0] <= middle:
            trail = under(trail, *marks[h][1:])
            h += 1
        yield chunk, trail


def trail_after(marks: Sequence[Heading], before: Trail = ()) -> Trail:
    """The headings in force at the end of a text whose headings are ``marks``, given ``before`` at its start
    (pure)."""
    for _, level, words in marks:
        before = under(before, level, words)
    return before


def chunk_text(text: str, chunk_words: int = 160, chunk_overlap: int = 32, setext: bool = False) -> list[Chunk]:
    """All chunks of ``text``; whitespace-only text gives ``[]``."""
    return list(iter_chunks(text, chunk_words, chunk_overlap, setext))


__all__ = ["MAX_WORD_CHARS", "Chunk", "check_params", "chunk_text", "has_words", "iter_chunks", "section_words", "sectioned",
           "trail_after", "word_spans"]
