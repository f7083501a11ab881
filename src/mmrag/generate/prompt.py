"""Prompt assembly: retrieved hits -> one numbered, budgeted ``Prompt``.

The engine calls::

    prompt = build_prompt(question, hits, thumbnail=store.thumbnail,
                          budget=cfg.generate.max_context_tokens, vision=gen.vision)

Every kept hit gets a number ``[1]..[n]`` (consecutive, in the order given:
the engine passes hits best first). Each becomes one ``ContextItem`` whose text
block names the source, where it lives (page, time range) and its modality::

    [2] talk.mp4 @ 03:12–03:41 (video transcript)
    and then we measured the latency ...

Text chunks, OCR and transcripts go in as text. Pictures (photos, keyframes,
figures) are attached as ``ImagePart``s right after their block when the
generator can see images (``vision=True``); otherwise the block describes the
picture by its text (caption / OCR / metadata) and no image is sent.

Budget: ``budget`` tokens cover the whole prompt (system, question, context;
a question is cut to half the budget at most). Hits are taken in order while
they fit; a picture that does not fit is left out and its hit described by its
text; a text that does not fit whole is cut at a word boundary if at least
``MIN_ITEM_TOKENS`` are left, otherwise the hit is dropped. Every dropped hit is listed in ``Prompt.dropped`` with its reason.
Token counting is approximate unless a counter is passed: ``ceil(chars / 4)``
(stated in ``Prompt.token_counter``); an image counts ``IMAGE_TOKENS``.

Backends render a ``Prompt``: chat servers get ``system`` + the user ``parts``
(text parts and image parts, see ``openai.py``); text-only and base models get
``as_text()``, which ends in ``Question: ...\\nAnswer:`` so that a base model
continues it as a completion.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrag.fields import field_name, format_fields, reads_as
from mmrag.markdown import headings_apart, hidden_blanked, rows_apart
from mmrag.types import Hit, Modality, heard_alternatives

IMAGE_TOKENS = 256  # rough cost of one attached image for the budget
MIN_ITEM_TOKENS = 48  # a cut text shorter than this is not worth sending
CHARS_PER_TOKEN = 4
MAX_IMAGE_BYTES = 1_000_000  # larger pictures are downscaled to JPEG (<= 768 px) before they are sent

SYSTEM = (
    "Answer the question using only the numbered sources below. "
    "Cite the sources you use after each claim with their numbers in square brackets, like [1] or [2, 3]. "
    "If the sources do not contain the answer, say that you don't know."
)
VISION_NOTE = " Pictures are attached right after the text of their source."
QUERY_IMAGE_NOTE = "The question comes with a picture (attached). The sources were retrieved as similar to it."
QUERY_IMAGE_NOTE_TEXT = (
    "The question comes with a picture the generator cannot see; the sources were retrieved as similar to it."
)

Thumbnail = Callable[[str], "bytes | None"]
TokenCounter = Callable[[str], int]

_KIND = {
    Modality.TEXT: "text",
    Modality.IMAGE: "image",
    Modality.AUDIO: "audio transcript",
    Modality.VIDEO: "video",
}
_CITE_LIKE = re.compile(r"\[(\s*\d+(?:\s*[,\-–]\s*\d+)*\s*)\]")


def approx_tokens(text: str) -> int:
    """The default counter: ``ceil(len(text) / 4)`` (English averages ~4 chars a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def sniff_image_mime(data: bytes) -> str | None:
    """``image/jpeg`` | ``image/png`` | ``image/webp`` | ``image/gif`` from magic bytes, else ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """An attached picture. ``number`` is the context item it belongs to (0: the query image)."""

    data: bytes
    mime: str
    number: int

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


Part = TextPart | ImagePart


HEARD_AS_OPEN = "\n(may also have been heard as: "  # opens the line of a speech source's alternatives


@dataclass(frozen=True)
class ContextItem:
    """One numbered source in the prompt."""

    number: int
    hit: Hit
    text: str  # the rendered block, header line included
    body: str = ""  # the source text as sent (cleaned, maybe cut); "" for a picture without text
    image: ImagePart | None = None
    tokens: int = 0
    truncated: bool = False

    @property
    def said(self) -> str:
        """The body without the recogniser's alternatives line: what the source itself says, the part an
        extractive answer may quote (a guess such as "Are you sure the Macnoor is locked" is context for a
        model, not a sentence of the source)."""
        return self.body.split(HEARD_AS_OPEN, 1)[0].rstrip()


@dataclass(frozen=True)
class Dropped:
    hit: Hit
    reason: str


@dataclass(frozen=True)
class Prompt:
    """What a generator receives. Render with ``parts`` (chat + images) or ``as_text()``."""

    question: str
    system: str
    parts: tuple[Part, ...]
    items: tuple[ContextItem, ...]
    dropped: tuple[Dropped, ...] = ()
    tokens: int = 0
    budget: int = 0
    vision: bool = False
    token_counter: str = "chars/4"
    query_image: ImagePart | None = None

    @property
    def hits(self) -> tuple[Hit, ...]:
        """The numbered hits in order: ``hits[i]`` is source ``[i + 1]``."""
        return tuple(item.hit for item in self.items)

    @property
    def numbers(self) -> frozenset[int]:
        return frozenset(item.number for item in self.items)

    def hit_for(self, number: int) -> Hit | None:
        if 1 <= number <= len(self.items):
            return self.items[number - 1].hit
        return None

    def user_text(self) -> str:
        """The user message without images (pictures stay described by their text)."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def as_text(self) -> str:
        """Plain text for text-only and base models: system, sources, ``Question: ...\\nAnswer:``."""
        return f"{self.system}\n\n{self.user_text()}"

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ImagePart))


def _to_jpeg(image: Any, max_px: int = 768) -> bytes | None:
    """A PIL image -> JPEG bytes (RGB, longest side <= ``max_px``); ``None`` if it cannot be encoded."""
    try:
        from PIL import Image

        img = image.convert("RGB") if isinstance(image, Image.Image) else Image.open(io.BytesIO(image)).convert("RGB")
        img.thumbnail((max_px, max_px))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        return buf.getvalue()
    except Exception:  # noqa: BLE001 - unreadable picture: the prompt goes on without it
        return None


def query_image_part(image: Any) -> ImagePart | None:
    """The user's query picture (bytes, a path, or a PIL image) as an ``ImagePart`` numbered 0.

    Encoded bytes of a known type are kept as they are; anything else is
    re-encoded to JPEG through Pillow. Unreadable input gives ``None``.
    """
    if image is None:
        return None
    data: bytes | None
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        try:
            data = Path(image).read_bytes()
        except OSError:
            return None
    else:
        data = _to_jpeg(image)
    if not data:
        return None
    mime = sniff_image_mime(data)
    if mime is None or len(data) > MAX_IMAGE_BYTES:
        data = _to_jpeg(data)
        mime = "image/jpeg" if data else None
    return ImagePart(data, mime, 0) if data and mime else None


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


def _neutralise(text: str) -> str:
    """``[12]`` inside source text -> ``(12)``, so a source's own reference marks are never copied as citations."""
    return _CITE_LIKE.sub(lambda m: f"({m.group(1).strip()})", text)


def _clean(text: str | None) -> str:
    return _neutralise(" ".join((text or "").replace("\x00", " ").split()))


def paragraphs(text: str | None) -> str:
    """A source's text as the prompt carries it: each paragraph (split at blank lines) on one line, its
    whitespace collapsed. Hard-wrapped lines join up; a heading keeps its own line, so a reader (and the
    extractive answer's sentence split) never runs it into the paragraph before it, and a Markdown
    heading line (``# Ferry timetable``) is a paragraph of its own even without blank lines around it,
    never joined to the text under it. A Markdown file's HTML comments (``<!-- YAML added: v10.0.0 -->``) are
    hidden, as when the file is shown: neither a model nor the extractive answer quotes them. A table written
    as text (``a | b`` rows, a Markdown table) keeps each row on a line of its own."""
    text = rows_apart(headings_apart(hidden_blanked(text or "")))  # a Markdown file's <!-- comments --> are not what it says
    return "\n".join(filter(None, (_clean(p) for p in _PARAGRAPH_BREAK.split(text))))


def heard_as(heard_also: str) -> str:
    """A recogniser's alternatives (`` / ``-separated) as one line: each once (case aside), without its
    closing punctuation, ``; ``-separated ("10 of clubs; ten of close"), so a sentence splitter keeps
    the line whole."""
    seen: dict[str, str] = {}
    for alt in heard_alternatives(heard_also):
        alt = _clean(alt).rstrip(".!?。！？ ")
        if alt:
            seen.setdefault(alt.lower(), alt)
    return "; ".join(seen.values())


_CLAUSE = re.compile(r"(?P<label>[^:;]{1,60}?):\s+(?P<value>\S.*)", re.DOTALL)


def said_fields(text: str, fields: Mapping[str, object]) -> tuple[list[tuple[str, str]], str]:
    """The ``Label: value`` clauses of a record's text that are its fields (a table row is written
    ``Name: gpsim; Purpose: PIC simulator; Where to get: http://...``), as ``(field, clause)`` in the text's
    order, and the text without them (a caption before the first clause stays) (pure).

    A clause is a field's when its label, read as a field name (``Where to get`` -> ``where_to_get``), names a
    field of the record that its value reads as (``Price: 89.00`` is the number 89); a second column under the
    same header is ``name_2`` as the reader names it."""
    pieces = text.split("; ")
    found: list[tuple[str, str]] = []
    rest: list[str] = []
    for index, piece in enumerate(pieces):
        lead, clause = "", piece
        label = piece.split(": ", 1)[0]
        if index == 0 and ". " in label:  # "Table 3. Name: gpsim": the caption leads the first clause
            cut = label.rindex(". ")
            lead, clause = piece[: cut + 1], piece[cut + 2 :]
        match = _CLAUSE.fullmatch(clause)
        name = field_name(match["label"]) if match else ""
        while name and any(name == key for key, _ in found):
            name += "_2"
        if match and name in fields and reads_as(match["value"], fields[name]):
            found.append((name, f"{' '.join(match['label'].split())}: {match['value']}"))
            rest.extend([lead] if lead else [])
        else:
            rest.append(piece)
    return (found, "; ".join(rest)) if found else ([], text)


def record_body(hit: Hit) -> str:
    """A record as the generator reads it: ``Title — price: 24.50; brand: Acme; link: https://...``,
    then the rest of its text (description ...).

    A table row's text is its fields as the document labels them (``Where to get: http://...``): the first
    line lists them with those labels, and they are not said a second time below it."""
    title = hit.meta.get("title", "")
    text = " ".join((hit.text or "").split())
    labelled, text = said_fields(text, hit.fields)
    # the title, and long values the text already carries (a description), are not repeated
    skip = [k for k, v in hit.fields.items() if v == title or (isinstance(v, str) and len(v) > 40 and v in text)]
    skip += [name for name, _ in labelled]
    listed = "; ".join(filter(None, [*(clause for name, clause in labelled if hit.fields[name] != title),
                                     format_fields(hit.fields, skip=skip)]))
    head = " — ".join(p for p in (title, listed) if p)
    if title and text.startswith(title):
        text = text[len(title) :].lstrip(" .")
    return f"{head}\n{text}" if text else head


def _header(number: int, hit: Hit, attached: bool, described: bool) -> str:
    kind = _KIND.get(hit.modality, str(hit.modality))
    if hit.fields or hit.meta.get("row"):
        kind = "record" + (" with picture" if hit.modality is Modality.IMAGE else "")
    if attached:
        kind += ", picture attached"
    elif described and hit.modality in (Modality.IMAGE, Modality.VIDEO) and hit.has_thumbnail:
        kind += ", picture described by its text"
    section = f" § {hit.section}" if hit.section else ""  # where in the document: "Plotting styles > Image"
    return f"[{number}] {hit.label()}{section} ({kind})"


def _cut(text: str, tokens: int, count: TokenCounter) -> str:
    """The longest word-boundary prefix of ``text`` counting at most ``tokens`` (binary search)."""
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(" ".join(words[:mid]) + " …") <= tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo]) + " …" if lo else ""


def _safe_thumbnail(thumbnail: Thumbnail | None, segment_id: str) -> ImagePart | None:
    if thumbnail is None:
        return None
    try:
        data = thumbnail(segment_id)
    except Exception:  # noqa: BLE001 - a missing/broken thumbnail must not sink the answer: fall back to text
        return None
    if not isinstance(data, (bytes, bytearray)) or not data:
        return None
    data = bytes(data)
    mime = sniff_image_mime(data)
    if mime and len(data) > MAX_IMAGE_BYTES:
        data, mime = _to_jpeg(data) or b"", "image/jpeg"
    return ImagePart(data, mime, 0) if mime and data else None


def build_prompt(
    question: str,
    hits: Sequence[Hit],
    *,
    thumbnail: Thumbnail | None = None,
    budget: int = 3000,
    vision: bool = False,
    query_image: Any = None,
    count_tokens: TokenCounter | None = None,
    system: str = SYSTEM,
    image_tokens: int = IMAGE_TOKENS,
) -> Prompt:
    """Number ``hits`` (best first) into a ``Prompt`` of at most ``budget`` tokens.

    ``thumbnail(segment_id)`` returns JPEG/PNG bytes of a hit's picture or ``None``;
    it is only called when ``vision`` is true. ``query_image`` is the user's own
    picture (``mmrag ask --image``; bytes, a path or a PIL image): attached
    before the question for vision models, noted in words for the others.
    """
    count = count_tokens or approx_tokens
    counter_name = "chars/4" if count_tokens is None else getattr(count_tokens, "__name__", "custom")
    question = " ".join((question or "").split())
    if count(question) > budget // 2:  # a huge question must not crowd out every source
        question = _cut(question, budget // 2, count) or question[: budget * CHARS_PER_TOKEN // 2]
    qimage = query_image_part(query_image)
    lead: list[Part] = [TextPart("Sources:\n")]
    q_note = ""
    if qimage is not None:
        q_note = (QUERY_IMAGE_NOTE if vision else QUERY_IMAGE_NOTE_TEXT) + "\n"
    if question:
        asked = question
    elif qimage is not None:
        asked = "What do the sources say about the item in the picture?"
    else:
        asked = "(no question given)"
    tail_text = f"\n{q_note}Question: {asked}\nAnswer:"
    tail: list[Part] = []
    used = count(system) + count("Sources:\n") + count(tail_text) + (count(VISION_NOTE) if vision else 0)
    if qimage is not None and vision:
        tail.append(qimage)
        used += image_tokens
    tail.append(TextPart(tail_text))

    items: list[ContextItem] = []
    dropped: list[Dropped] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.segment_id in seen:
            dropped.append(Dropped(hit, "duplicate of an earlier source"))
            continue
        if hit.fields or hit.meta.get("row"):  # a record: its fields line, then its text, on separate lines
            body = "\n".join(filter(None, (_clean(line) for line in record_body(hit).split("\n"))))
        else:
            body = paragraphs(hit.text)
            also = heard_as(hit.meta.get("heard_also", ""))
            if body and also:  # speech the recogniser was unsure of: what else it may have heard
                body += f"{HEARD_AS_OPEN}{also})"
        # a recording's thumbnail (a speech segment's, a sound window's, a video's soundtrack's) is its
        # waveform: nothing a model could read, so none is sent; a video shot's keyframe is
        waveform = hit.modality is Modality.AUDIO or hit.meta.get("kind") == "sound"
        seen_as_picture = vision and hit.has_thumbnail and not waveform
        image = _safe_thumbnail(thumbnail, hit.segment_id) if seen_as_picture else None
        if not body and image is None and hit.modality is Modality.TEXT:
            dropped.append(Dropped(hit, "no text to show"))
            continue
        number = len(items) + 1
        left = budget - used
        while True:  # with its picture if it fits, else described by its text
            header = _header(number, hit, image is not None, bool(body))
            placeholder = ""
            if not body:
                placeholder = "(picture attached)" if image is not None else "(no text description)"
            fixed = count(header + "\n" + placeholder + "\n\n") + (image_tokens if image is not None else 0)
            cost = fixed + count(body)
            if cost <= left or image is None or not body:
                break
            image = None
        truncated = False
        if cost > left:
            room = left - fixed
            cut = _cut(body, room, count) if room >= MIN_ITEM_TOKENS else ""
            if not cut:
                dropped.append(Dropped(hit, f"over the token budget (needs ~{cost}, {max(left, 0)} left of {budget})"))
                continue
            body, truncated = cut, True
            cost = fixed + count(body)
        seen.add(hit.segment_id)
        block = f"{header}\n{body or placeholder}\n\n"
        part_image = ImagePart(image.data, image.mime, number) if image is not None else None
        items.append(ContextItem(number, hit, block, body, part_image, cost, truncated))
        used += cost

    if vision and (qimage is not None or any(item.image is not None for item in items)):
        system += VISION_NOTE
    elif vision:
        used -= count(VISION_NOTE)  # reserved above, not needed
    parts: list[Part] = list(lead)
    for item in items:
        parts.append(TextPart(item.text))
        if item.image is not None:
            parts.append(item.image)
    if not items:
        parts.append(TextPart("(no sources found)\n"))
    parts.extend(tail)
    return Prompt(
        question=question,
        system=system,
        parts=tuple(parts),
        items=tuple(items),
        dropped=tuple(dropped),
        tokens=used,
        budget=budget,
        vision=vision,
        token_counter=counter_name,
        query_image=qimage,
    )


__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "SYSTEM",
    "VISION_NOTE",
    "ContextItem",
    "Dropped",
    "ImagePart",
    "Part",
    "Prompt",
    "TextPart",
    "approx_tokens",
    "build_prompt",
    "query_image_part",
    "record_body",
    "said_fields",
    "sniff_image_mime",
]
