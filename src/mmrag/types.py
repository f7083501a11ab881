"""The records that cross module boundaries. All frozen.

Vocabulary
----------
- A *source* is one file (or URL) the user added. It has a content hash.
- A *segment* is one retrievable piece of a source: a text chunk, an image, a
  PDF page chunk or figure, a speech segment, a video shot. Its ``span`` says
  where in the source it lives (page, time range, character offsets).
- A *channel* is the encoder path that turned a segment payload into a vector:
  ``text`` (text tower on ``segment.text``), ``image`` (image tower on
  ``segment.image``), ``audio`` (audio tower on ``segment.audio``) or
  ``visual`` (an image backbone's own features on ``segment.image``). One
  segment can have one vector per channel (an image has a pixel vector and a
  vector of its OCR/metadata text). Scores are only comparable inside one
  (query channel, target channel) pair: fusion works per channel.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image


# a text's ``meta["format"]`` that is not Markdown: a plain text file (scripts, configs: ``# x`` is a comment), Rich
# Text and subtitles, read as their words; every other reader writes Markdown (``mmrag.markdown``)
PLAIN_FORMATS = frozenset({"text", "rtf", "subtitles"})


class Modality(str, enum.Enum):
    """What a segment *is* (not which encoder embedded it)."""

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"

    def __str__(self) -> str:  # "image", not "Modality.IMAGE"
        return self.value


class Channel(str, enum.Enum):
    """Which tower produced a vector.

    ``visual`` is modality-native: a picture's own visual features (an image
    backbone's), not in the shared text space; only image queries search it.
    """

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VISUAL = "visual"

    def __str__(self) -> str:
        return self.value

    @property
    def native(self) -> bool:
        """Searched only by a query vector of its own kind (never by text)."""
        return self is Channel.VISUAL


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Span:
    """Where a segment lives inside its source. Unused parts stay ``None``.

    ``page`` is 1-based. ``t0``/``t1`` are seconds. ``start``/``end`` are
    character offsets into the source's extracted text (for text chunks).
    """

    page: int | None = None
    t0: float | None = None
    t1: float | None = None
    start: int | None = None
    end: int | None = None

    def label(self, page_word: str = "p.") -> str:
        """Human form: ``p. 7``, ``03:12–03:41``, ``chars 120–480``, or ``""``; ``page_word``: the source's
        own word for a page (``slide`` in a deck: ``slide 7``)."""
        parts: list[str] = []
        if self.page is not None:
            parts.append(f"{page_word} {self.page}")
        if self.t0 is not None:
            t1 = self.t1 if self.t1 is not None else self.t0
            a, b = format_time(self.t0), format_time(t1)
            if a == b and t1 > self.t0:  # a sound shorter than the label's second: "00:00.0–00:00.4"
                a, b = format_time(self.t0, tenths=True), format_time(t1, tenths=True)
            parts.append(f"{a}–{b}")
        if not parts and self.start is not None and self.end is not None:
            parts.append(f"chars {self.start}–{self.end}")
        return " ".join(parts)


def format_time(seconds: float, *, tenths: bool = False) -> str:
    """``75.4`` -> ``01:15``; ``3725`` -> ``1:02:05``; with ``tenths``, ``0.44`` -> ``00:00.4``."""
    if tenths:
        total_tenths = max(0, round(seconds * 10))
        whole, tenth = divmod(total_tenths, 10)
        return f"{format_time(whole)}.{tenth}"
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


@dataclass(frozen=True, eq=False)
class Segment:
    """One retrievable piece of a source, as produced by a loader.

    Payloads: ``text`` (chunk text, OCR text, transcript, caption, metadata
    words), ``image`` (PIL image for the image tower: a photo, a keyframe, a
    figure), ``audio`` (mono float32 samples at ``sample_rate``). A loader fills
    what it has; the space embeds each payload with the matching tower.
    ``thumbnail`` is small encoded image bytes (JPEG/PNG) kept for display.
    ``meta`` holds short strings (title, figure number, detected language ...).
    ``fields`` holds a record's typed values (a catalogue row, a table row:
    numbers, yes/no, text, links, ISO dates; see ``mmrag.fields``); a record
    segment also has ``meta["row"]`` (its 1-based row number) and
    ``meta["title"]``.
    """

    source: str
    modality: Modality
    span: Span = field(default_factory=Span)
    text: str | None = None
    image: Image.Image | None = None
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    thumbnail: bytes | None = None
    meta: Mapping[str, str] = field(default_factory=_empty)
    fields: Mapping[str, Any] = field(default_factory=_empty)

    @property
    def id(self) -> str:
        """Stable id: hash of source, modality and span."""
        return segment_id(self.source, self.modality, self.span, self.meta.get("part", ""))


def segment_id(source: str, modality: Modality, span: Span, part: str = "") -> str:
    key = f"{source}\x00{modality.value}\x00{span.page}\x00{span.t0}\x00{span.t1}\x00{span.start}\x00{span.end}\x00{part}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Hit:
    """One search result: a segment (without pixels) and its calibrated score.

    ``score`` is the fused, calibrated score (higher is better; comparable
    across modalities within one result list). ``relevance`` is the fitted
    probability that the hit is a right answer (``retrieve/relevance.py``). ``channel_scores``
    keeps the raw cosine per channel that matched, for transparency. ``fields`` are a
    record's typed values (empty for other segments).
    """

    segment_id: str
    source: str
    modality: Modality
    span: Span
    score: float
    text: str | None = None
    channel_scores: Mapping[str, float] = field(default_factory=_empty)
    has_thumbnail: bool = False
    meta: Mapping[str, str] = field(default_factory=_empty)
    found_by: str = ""  # the list that ranked it: "text->image", "image->visual", "lexical" ...
    fields: Mapping[str, Any] = field(default_factory=_empty)
    # estimated probability that this hit is a right answer (None: no relevance model for this space)
    relevance: float | None = None
    duplicates: tuple[str, ...] = ()  # segment ids of near-duplicates folded under this hit

    def label(self) -> str:
        """``talk.mp4 @ 03:12–03:41``, ``report.pdf p. 7``, ``report.pdf p. 7, fig. 2``, ``notes.md``;
        a record: ``catalogue.csv #412 "Linen summer hat"``, ``page.html table 2 row 3``."""
        row = self.meta.get("row")
        if row:
            return record_label(self.source, self.span, self.meta)
        where = self.where()
        figure = self.meta.get("figure")
        if figure and figure != "page" and self.span.page is not None:
            where = f"{where}, fig. {figure}"
        elif figure and figure != "page" and not where:  # a picture in a document without pages (.docx)
            where = f"fig. {figure}"
        if not where or where.startswith("chars"):
            return self.source
        sep = " @ " if self.span.t0 is not None and self.span.page is None else " "
        return f"{self.source}{sep}{where}"

    @property
    def is_contents(self) -> bool:
        """A PDF's table of contents or index page (``meta["contents"]``, set by ``ingest/pdf.py``): it names
        sections and pages, it says no answer."""
        return self.meta.get("contents") == "yes"

    @property
    def section(self) -> str:
        """The headings a document's chunk falls under, outermost first (``Plotting styles > Image``; written
        by the readers as ``meta["section"]``), or ``""``."""
        return str(self.meta.get("section") or "")

    @property
    def is_markdown(self) -> bool:
        """Whether the text is written in Markdown, as every reader writes documents (``# Install`` is a
        heading): all but a plain text file's, a Rich Text document's and subtitles' words (``# Install``
        is a script's comment there, shown as written)."""
        return self.meta.get("format") not in PLAIN_FORMATS

    def where(self) -> str:
        """The span's label with the source's own word for a page: ``slide 7`` in a deck, else ``p. 7``."""
        unit = self.meta.get("page_unit") or "p."
        where = self.span.label(unit)
        heading = " ".join(str(self.meta.get(f"{unit}_title") or "").split()) if unit in ("section", "message", "note") else ""
        if heading and self.span.page is not None:  # a number alone says little: "section 7 “Putney Hill”"
            where = f"{where} “{heading[:60] + '…' if len(heading) > 60 else heading}”"
        return where

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "source": self.source,
            "modality": self.modality.value,
            "page": self.span.page,
            "t0": self.span.t0,
            "t1": self.span.t1,
            "start": self.span.start,
            "end": self.span.end,
            "label": self.label(),
            "score": self.score,
            "text": self.text,
            "channel_scores": dict(self.channel_scores),
            "has_thumbnail": self.has_thumbnail,
            "meta": dict(self.meta),
            "found_by": self.found_by,
            "fields": dict(self.fields),
            "relevance": self.relevance,
            "duplicates": list(self.duplicates),
        }


def record_label(source: str, span: Span, meta: Mapping[str, str]) -> str:
    """``catalogue.csv #412 "Linen summer hat"``; ``shop.xlsx [Hats] #3 ...``; ``report.pdf p. 2 table 1 row 3``."""
    parts = [source]
    if span.page is not None:
        parts.append(f"{meta.get('page_unit') or 'p.'} {span.page}")
    if meta.get("sheet"):
        parts.append(f"[{meta['sheet']}]")
    if meta.get("table"):
        parts.append(f"table {meta['table']} row {meta['row']}")
    else:
        parts.append(f"#{meta['row']}")
    title = " ".join(str(meta.get("title") or "").split())
    if title:
        parts.append('"' + (title[:60] + "…" if len(title) > 60 else title) + '"')
    return " ".join(parts)


@dataclass(frozen=True)
class Citation:
    """``[n]`` in an answer, mapped back to the hit it stands for."""

    number: int
    hit: Hit


@dataclass(frozen=True)
class Answer:
    """A generated answer with the citations it really used.

    ``text`` keeps the ``[n]`` markers. ``citations`` lists only numbers that
    were in the context and appear in the text; ``dropped_citations`` lists
    numbers the generator invented (stripped from ``text``).
    """

    text: str
    citations: tuple[Citation, ...] = ()
    context: tuple[Hit, ...] = ()
    generator: str = ""
    dropped_citations: tuple[int, ...] = ()
    timings: Mapping[str, float] = field(default_factory=_empty)


@dataclass(frozen=True)
class AddReport:
    """What ``Engine.add`` did, per source."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (source, reason); a catalogue's bad row: ("cat.csv row 12", reason)
    segments: int = 0
    interrupted: bool = False
    failed_parts: int = 0  # how many of ``failed`` are parts of a file (bad rows, unfetched pictures), not files
    pictures: int = 0  # picture segments embedded by this add (photos, drawings, figures, slides' pictures)
    flat_pictures: int = 0  # of those, the flat ones: drawings, icons, emoji, clip art (``backbone_tower.is_drawing``)
    left_out: int = 0  # files and folders the exclude patterns or .mmragignore files left out (not read)

    @property
    def failed_files(self) -> int:
        return len(self.failed) - self.failed_parts


HEARD_SEPARATOR = " / "  # between a recogniser's hypotheses in a segment's meta["heard_also"]


def heard_alternatives(heard_also: str | None) -> list[str]:
    """The recogniser's other hypotheses kept in a speech segment's ``meta["heard_also"]`` (ingest writes
    them ``HEARD_SEPARATOR``-joined; search, the prompt and the CLI read them back here). Pure."""
    return [a for a in (heard_also or "").split(HEARD_SEPARATOR) if a.strip()]


__all__ = [
    "HEARD_SEPARATOR",
    "AddReport",
    "Answer",
    "Channel",
    "Citation",
    "Hit",
    "Modality",
    "Segment",
    "Span",
    "format_time",
    "heard_alternatives",
    "record_label",
    "segment_id",
]
