"""Evernote exports (``.enex``): each note with its words, tags, dates and pictures.

An ENEX file is one XML document: an ``<en-export>`` of ``<note>`` elements, each with a ``<title>``, its body as
ENML (XHTML inside a CDATA section: ``<en-note>``, ``<en-media>`` where a picture sits, ``<en-todo>`` checkboxes),
``<created>``/``<updated>`` stamps, ``<tag>``s, ``<note-attributes>`` (author, source URL) and ``<resource>``s (the
attached files, base64). Indexed as text, an export was its XML and base64 cut into chunks. Each note is now a
numbered part of the file, as a slide is of a deck (``office.deck_segments``): a hit reads ``notes.enex note 7
“Trip to Porto”``; its text is the title, then tags, dates and author as words, the body (``html_to_text``;
checkboxes as ``☑``/``☐``) and the names of attachments that are not pictures; each attached picture goes through
the image tower, captioned by its file name and the note's title, so a note's photo is found by its pixels.

The XML is streamed (``defusedxml``'s ``iterparse``: an export of thousands of notes is not held at once; entities
and external references refused), each note's elements freed once read. A note that cannot be read is skipped
with a warning and the rest land; an export that breaks off keeps the notes before the break, with a warning
that says where; a file that is not an export, or breaks off before its first note, is refused with a reason.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import SlideParts, alt_words, deck_segments, prepare
from mmrag.types import Segment

log = logging.getLogger(__name__)
MAX_PICTURE_MB = 50
_TODO = re.compile(r"<en-todo\b([^>]*)/?>(?:</en-todo>)?", re.IGNORECASE)
_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})")


def stamp(value: str) -> str:
    """An ENEX time stamp (``20201101T101500Z``) as ``2020-11-01 10:15`` (pure; anything else as it is)."""
    m = _STAMP.match(value.strip())
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)} {m.group(4)}:{m.group(5)}" if m else value.strip()


def enml_text(enml: str) -> str:
    """A note's ENML body as its visible text, checkboxes as ``☑``/``☐`` (pure)."""
    from mmrag.ingest.text import html_to_text

    marked = _TODO.sub(lambda m: "☑ " if re.search(r'checked\s*=\s*"true"', m.group(1), re.IGNORECASE) else "☐ ", enml)
    text, _ = html_to_text(marked)
    return text


def _text(element: Any, tag: str) -> str:
    return " ".join(_text_raw(element, tag).split())


def note_parts(note: Any) -> SlideParts:
    """One ``<note>`` element as the parts of a numbered document section (pure over the parsed element)."""
    title = _text(note, "title")
    lines: list[str] = []
    tags = [" ".join((t.text or "").split()) for t in note.findall("tag") if (t.text or "").strip()]
    if tags:
        lines.append(f"Tags: {', '.join(tags)}")
    created, updated = stamp(_text(note, "created")), stamp(_text(note, "updated"))
    if created:
        lines.append(f"Created: {created}" + (f", updated: {updated}" if updated and updated != created else ""))
    attributes = note.find("note-attributes")
    if attributes is not None:
        for tag, label in (("author", "Author"), ("source-url", "Source")):
            value = _text(attributes, tag)
            if value:
                lines.append(f"{label}: {value}")
    body = enml_text(_text_raw(note, "content"))
    lines += [line for line in (" ".join(x.split()) for x in body.split("\n")) if line]
    pictures: list[tuple[bytes, str]] = []
    attached: list[str] = []
    for resource in note.findall("resource"):
        mime = _text(resource, "mime").lower()
        attrs = resource.find("resource-attributes")
        name = _text(attrs, "file-name") if attrs is not None else ""
        data = resource.find("data")
        if not mime.startswith("image/") or data is None:
            if name:
                attached.append(name)
            continue
        try:
            blob = base64.b64decode(data.text or "", validate=False)
        except (binascii.Error, ValueError):
            continue
        if len(blob) <= MAX_PICTURE_MB * 2**20:
            pictures.append((blob, alt_words(name)))
    if attached:
        lines.append(f"Attached: {', '.join(attached)}")
    return SlideParts(title, lines, [], pictures)


def _text_raw(element: Any, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "") if found is not None else ""


def notes(path: Path, source: str) -> Iterator[SlideParts | None]:
    """Each note of an export, streamed; ``None`` for one that could not be read (logged). ``IngestError`` for a
    file that is not an export, declares entities, or whose XML breaks off."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    seen_root = False
    read = 0
    try:
        for event, element in iterparse(str(path), events=("start", "end")):
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if element.tag != "en-export":
                        raise IngestError(source, f"not an Evernote export (its root element is <{element.tag}>)")
                continue
            if element.tag != "note":
                continue
            read += 1
            try:
                yield note_parts(element)
            except Exception as exc:  # noqa: BLE001 - one damaged note: the rest of the export still lands
                log.warning("%s: a note skipped: %s: %s", source, type(exc).__name__, exc)
                yield None
            element.clear()  # its resources' base64 is not kept while the next notes are read
    except DefusedXmlException as exc:
        raise IngestError(source, f"refused: the export declares entities or external references ({type(exc).__name__}), "
                                  "a known attack on XML readers") from None
    except ParseError as exc:
        if not read:
            raise IngestError(source, f"the export's XML is damaged or cut short ({exc}); export the notebook "
                                      "again") from None
        # a cut export (a copy that stopped, a full disk): the notes before the break land, as a book's readable
        # sections do, and the break is said
        log.warning("%s: the export breaks off after note %d (%s): the notes before it are indexed; export the "
                    "notebook again for the rest", source, read, exc)


class EvernoteLoader:
    """Loader for the ``enex`` kind."""

    kinds: tuple[str, ...] = ("enex",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        prepare(path, config, "Evernote export", package=False)
        yield from deck_segments(path, notes(path, str(path)), "enex", "", config, unit="note")


__all__ = ["EvernoteLoader", "enml_text", "note_parts", "notes", "stamp"]
