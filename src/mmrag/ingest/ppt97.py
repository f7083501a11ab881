"""PowerPoint 97-2003 decks (``.ppt``, ``.pps``, ``.pot``): each slide's words, notes and pictures.

An old ``.ppt`` is an OLE2 compound file (olefile, BSD-2, pure Python; the ``office`` extra). Its
``PowerPoint Document`` stream is a tree of records ([MS-PPT] 2.3): an 8-byte header (version and
instance, type, length), a container's payload being more records. What is read, as the
specification lays it out:

- **Which records are current**: a deck saved by "fast save" keeps old versions of its slides. The
  ``Current User`` stream points at the last edit; the chain of edits (``UserEditAtom``) gives the
  persist directory, newest entry first, that maps each object's id to where it now lies.
- **Slides in order**: the document's slide list (``SlideListWithText``, instance 0) names each slide
  (``SlidePersistAtom``) in show order, followed by the words of its placeholders (title, body), each
  with its kind (``TextHeaderAtom``). A slide's own drawing holds its shapes: text boxes with their
  words (``TextCharsAtom`` UTF-16, ``TextBytesAtom`` one byte a character), placeholders pointing into
  the slide list (``OutlineTextRefAtom``), pictures by their index in the picture store (OfficeArt
  property ``pib``) and alt text (``wzDescription``), and where each shape stands (its anchor).
- **Notes**: each notes page names the slide it belongs to (``NotesAtom``); its notes body's words
  become the slide's ``Notes: ...`` line, as for ``.pptx``.
- **Pictures**: the store (``BStoreContainer``, in the document's drawing group) says where each
  picture lies in the ``Pictures`` stream; PNG, JPEG, DIB (as BMP) and TIFF pictures are decoded,
  EMF/WMF/PICT vector art left out, as for ``.pptx``.

Then each slide becomes segments the way every deck does (``office.deck_segments``): its title
first, its other words in reading order (top to bottom, left to right), its notes; its pictures
through the image tower; cited as ``deck.ppt slide 7``. Slide masters and layouts are not read
(what a master says is on every slide); tables are read as their cells' words (a ``.ppt`` table is a
group of text boxes), not as typed rows.

Written here, not taken from a library: the one maintained reader with a Python binding
(office-oxide, 0.1.x, Rust) ships its Linux wheel for glibc ≥ 2.34 only, so ``pip install
"mmrag[office]"`` would fail on older systems, and it reads a master as one more slide; antiword /
catppt are C programs; Apache Tika needs Java. The part of the format needed is a few pages.
Password-protected decks and PowerPoint 95 or older get a clear reason.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import SlideParts, alt_words, deck_segments, ole_title, open_compound, read_compound
from mmrag.ingest.officeart import (
    OA_BSTORE,
    OA_CLIENT_ANCHOR,
    OA_GROUP,
    OA_OPT,
    OA_SHAPE,
    OA_TERTIARY_OPT,
    PROP_PIB,
    Record,
    alt_text,
    children,
    descendants,
    first,
    picture_store,
    record_at,
    shape_properties,
)
from mmrag.types import Segment

# record types ([MS-PPT] 2.13.24 RecordType)
RT_DOCUMENT = 0x03E8
RT_SLIDE = 0x03EE
RT_NOTES = 0x03F0
RT_NOTES_ATOM = 0x03F1
RT_SLIDE_PERSIST_ATOM = 0x03F3
RT_DRAWING_GROUP = 0x040B
RT_OUTLINE_TEXT_REF = 0x0F9E
RT_TEXT_HEADER = 0x0F9F
RT_TEXT_CHARS = 0x0FA0
RT_TEXT_BYTES = 0x0FA8
RT_SLIDE_LIST = 0x0FF0
RT_USER_EDIT = 0x0FF5
RT_CURRENT_USER = 0x0FF6
RT_PERSIST_DIRECTORY = 0x1772
RT_CRYPT_SESSION = 0x2F14

TITLE_TYPES = {0, 6}  # Tx_TYPE_TITLE, Tx_TYPE_CENTERTITLE
NOTES_TYPE = 2  # Tx_TYPE_NOTES
HEADER_TOKEN_ENCRYPTED = 0xF3D1C4DF
MAX_PICTURES_PER_SLIDE = 64
ROW_UNITS = 58  # master units (576 an inch) in a tenth of an inch: shapes this close in height share a row
_PROTECTED = "it is password-protected: open it in PowerPoint, remove the password and save it again"
_CONTROL = re.compile(r"[\x00-\x08\x0c\x0e-\x1f\x7f]")


class PptFormatError(ValueError):
    """The stream is not a PowerPoint 97-2003 deck this reader can follow; the message says why."""


def record_text(data: bytes, rec: Record) -> str:
    """A text atom's characters: UTF-16 (``TextCharsAtom``) or one byte each (``TextBytesAtom``)."""
    raw = data[rec.start : rec.end]
    return raw.decode("utf-16-le", "replace") if rec.type == RT_TEXT_CHARS else raw.decode("latin-1")


def paragraphs(text: str) -> list[str]:
    """A text box's paragraphs (``\\r`` ends one; a vertical tab is a line break within it, read as a space)."""
    out = []
    for para in text.replace("\x0b", " ").split("\r"):
        clean = " ".join(_CONTROL.sub(" ", para).split())
        if clean:
            out.append(clean)
    return out


# ---- which records are current: the edit chain and the persist directory ------------------------------------


@dataclass(frozen=True)
class Persist:
    """Where each persist object lies now, and which one is the document."""

    offsets: dict[int, int]
    document: int
    encrypted: bool


def current_edit_offset(current_user: bytes | None) -> tuple[int | None, bool]:
    """The offset of the last ``UserEditAtom`` (``None`` when the ``Current User`` stream is missing or damaged),
    and whether the header token says the deck is encrypted."""
    if not current_user:
        return None, False
    rec = record_at(current_user, 0)
    if rec is None or rec.type != RT_CURRENT_USER or rec.end - rec.start < 12:
        return None, False
    _size, token, offset = struct.unpack_from("<III", current_user, rec.start)
    return offset, token == HEADER_TOKEN_ENCRYPTED


def last_user_edit(data: bytes) -> int | None:
    """The last top-level ``UserEditAtom`` in the stream: where the last edit is when ``Current User`` is unreadable."""
    found, offset = None, 0
    while (rec := record_at(data, offset)) is not None:
        if rec.type == RT_USER_EDIT:
            found = offset
        offset = rec.end
    return found


def read_persist(data: bytes, edit_offset: int) -> Persist:
    """Follow the edits from the newest back: the newest offset of each persist id wins."""
    offsets: dict[int, int] = {}
    document: int | None = None
    encrypted = False
    seen: set[int] = set()
    offset = edit_offset
    while offset and offset not in seen:
        seen.add(offset)
        edit = record_at(data, offset)
        if edit is None or edit.type != RT_USER_EDIT or edit.end - edit.start < 28:
            if document is None:
                raise PptFormatError(f"no edit record where the deck says its last edit is (offset {offset}): a damaged file")
            break
        last_edit, directory, doc_ref = struct.unpack_from("<III", data, edit.start + 8)
        if document is None:
            document = doc_ref
            if edit.end - edit.start >= 32:
                encrypted = struct.unpack_from("<I", data, edit.start + 28)[0] != 0
        _read_directory(data, directory, offsets)
        offset = last_edit
    for directory in scanned_directories(data):  # a broken chain (seen in real files): what the stream still holds
        for ref, at in directory.items():
            offsets.setdefault(ref, at)
    if document is None or document not in offsets:
        raise PptFormatError("its document record is missing from the persist directory (a damaged file)")
    return Persist(offsets, document, encrypted)


def scanned_directories(data: bytes) -> list[dict[int, int]]:
    """Every top-level persist directory in the stream, newest (last written) first."""
    found: list[dict[int, int]] = []
    offset = 0
    while (rec := record_at(data, offset)) is not None:
        if rec.type == RT_PERSIST_DIRECTORY:
            entries: dict[int, int] = {}
            _read_directory(data, offset, entries)
            found.append(entries)
        offset = rec.end
    return found[::-1]


def _read_directory(data: bytes, offset: int, into: dict[int, int]) -> None:
    rec = record_at(data, offset)
    if rec is None or rec.type != RT_PERSIST_DIRECTORY:
        return
    pos = rec.start
    while pos + 4 <= rec.end:
        entry = struct.unpack_from("<I", data, pos)[0]
        first_id, count = entry & 0xFFFFF, entry >> 20
        pos += 4
        for k in range(count):
            if pos + 4 > rec.end:
                return
            into.setdefault(first_id + k, struct.unpack_from("<I", data, pos)[0])
            pos += 4


def persisted(data: bytes, persist: Persist, ref: int, rtype: int) -> Record | None:
    """The current record of persist id ``ref``, when it is of type ``rtype``."""
    offset = persist.offsets.get(ref)
    rec = record_at(data, offset) if offset is not None else None
    return rec if rec is not None and rec.type == rtype else None


# ---- slides -------------------------------------------------------------------------------------------------


@dataclass
class ListEntry:
    """A slide (or notes page) as the document's list names it: its ids and its placeholders' words by kind."""

    persist_ref: int
    slide_id: int
    texts: list[tuple[int, str]] = field(default_factory=list)


def slide_list(data: bytes, document: Record, instance: int) -> list[ListEntry]:
    """The slides (instance 0) or notes pages (instance 2) in the document's order, with their listed words."""
    listing = first(data, document, RT_SLIDE_LIST, instance)
    entries: list[ListEntry] = []
    if listing is None:
        return entries
    kind = 4  # Tx_TYPE_OTHER until a header says
    for rec in children(data, listing):
        if rec.type == RT_SLIDE_PERSIST_ATOM and rec.end - rec.start >= 16:
            ref, _flags, _count, slide_id = struct.unpack_from("<IIiI", data, rec.start)
            entries.append(ListEntry(ref, slide_id))
        elif not entries:
            continue
        elif rec.type == RT_TEXT_HEADER and rec.end - rec.start >= 4:
            kind = struct.unpack_from("<I", data, rec.start)[0]
        elif rec.type in (RT_TEXT_CHARS, RT_TEXT_BYTES):
            entries[-1].texts.append((kind, record_text(data, rec)))
    return entries


@dataclass
class Shape:
    """What one top-level shape (or group) holds, in file order."""

    anchor: tuple[int, int] | None = None  # (top, left) in master units
    texts: list[tuple[int, str]] = field(default_factory=list)
    pictures: list[tuple[int, str]] = field(default_factory=list)  # (picture store index, alt text)


def read_shape(data: bytes, shape: Record, listed: list[tuple[int, str]], used: set[int]) -> Shape:
    """One top-level shape or group: its anchor, its words (a placeholder's from the slide list), its pictures."""
    out = Shape()
    kind = 4
    for rec in [shape, *descendants(data, shape)]:
        if rec.type == OA_SHAPE:  # a shape's properties: its own table and, from PowerPoint 2007 on, a tertiary one
            props: dict[int, int | bytes] = {}
            for table in children(data, rec):
                if table.type in (OA_OPT, OA_TERTIARY_OPT):
                    props |= shape_properties(data, table)
            pib = props.get(PROP_PIB)
            if isinstance(pib, int) and pib > 0:
                out.pictures.append((pib, alt_words(alt_text(props))))
        elif rec.type == OA_CLIENT_ANCHOR and out.anchor is None:
            size = rec.end - rec.start
            if size == 8:
                top, left = struct.unpack_from("<hh", data, rec.start)
                out.anchor = (top, left)
            elif size >= 16:
                top, left = struct.unpack_from("<ii", data, rec.start)
                out.anchor = (top, left)
        elif rec.type == RT_TEXT_HEADER and rec.end - rec.start >= 4:
            kind = struct.unpack_from("<I", data, rec.start)[0]
        elif rec.type in (RT_TEXT_CHARS, RT_TEXT_BYTES):
            out.texts.append((kind, record_text(data, rec)))
        elif rec.type == RT_OUTLINE_TEXT_REF and rec.end - rec.start >= 4:
            index = struct.unpack_from("<i", data, rec.start)[0]
            if 0 <= index < len(listed) and index not in used:
                used.add(index)
                out.texts.append(listed[index])
    return out


def drawing_shapes(data: bytes, container: Record) -> list[Record]:
    """The top-level shapes and groups of a slide's (or notes page's) drawing, in file order."""
    for rec in descendants(data, container):
        if rec.type == OA_GROUP:  # the drawing's root group: its first shape is the group itself
            return [r for r in children(data, rec) if r.type in (OA_SHAPE, OA_GROUP)][1:]
    return []


def reading_order(shapes: list[Shape]) -> list[Shape]:
    """Top to bottom, then left to right (rows a tenth of an inch apart); unplaced shapes last, as in the file."""
    def key(item: tuple[int, Shape]) -> tuple[int, int, int, int]:
        index, shape = item
        if shape.anchor is None:
            return (1, 0, 0, index)
        return (0, shape.anchor[0] // ROW_UNITS, shape.anchor[1], index)

    return [s for _, s in sorted(enumerate(shapes), key=key)]


def read_slide(data: bytes, container: Record, entry: ListEntry, notes: str,
               pictures: list[bytes | None]) -> SlideParts:
    """One slide's title, words in reading order, notes line and pictures."""
    used: set[int] = set()
    shapes = reading_order([read_shape(data, s, entry.texts, used) for s in drawing_shapes(data, container)])
    title = ""
    lines: list[str] = []
    found: list[tuple[int, str]] = [t for s in shapes for t in s.texts]
    found += [t for k, t in enumerate(entry.texts) if k not in used and t not in found]  # listed, drawn by no shape
    for kind, text in found:
        paras = paragraphs(text)
        if kind == NOTES_TYPE or not paras:
            continue
        if kind in TITLE_TYPES and not title:
            title = " ".join(paras)
            continue
        lines.extend(paras)
    if notes:
        lines.append(f"Notes: {notes}")
    blobs: list[tuple[bytes, str]] = []
    for index, alt in [p for s in shapes for p in s.pictures][:MAX_PICTURES_PER_SLIDE]:
        blob = pictures[index - 1] if index <= len(pictures) else None
        if blob is not None:
            blobs.append((blob, alt))
    return SlideParts(title, lines, [], blobs)


def notes_by_slide(data: bytes, document: Record, persist: Persist) -> dict[int, str]:
    """Each notes page's words (its notes body), by the id of the slide it belongs to."""
    out: dict[int, str] = {}
    for entry in slide_list(data, document, 2):
        container = persisted(data, persist, entry.persist_ref, RT_NOTES)
        if container is None:
            continue
        atom = first(data, container, RT_NOTES_ATOM)
        if atom is None or atom.end - atom.start < 4:
            continue
        slide_id = struct.unpack_from("<I", data, atom.start)[0]
        used: set[int] = set()
        texts = [t for s in drawing_shapes(data, container) for t in read_shape(data, s, entry.texts, used).texts]
        words = " ".join(p for kind, text in texts if kind == NOTES_TYPE for p in paragraphs(text))
        if words:
            out[slide_id] = words
    return out


# ---- pictures ------------------------------------------------------------------------------------------------


def deck_pictures(data: bytes, document: Record, pictures_stream: bytes) -> list[bytes | None]:
    """The deck's pictures by store index (from 0): a decodable file's bytes, or ``None`` (vector art, missing)."""
    group = first(data, document, RT_DRAWING_GROUP)
    store = None if group is None else next((r for r in descendants(data, group) if r.type == OA_BSTORE), None)
    return picture_store(data, store, pictures_stream)


# ---- the deck -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deck:
    """What was read: the slides in show order (``None``: a slide whose record is missing) and the deck's title."""

    slides: list[SlideParts | None]
    title: str


def parse_deck(data: bytes, current_user: bytes | None, pictures_stream: bytes = b"") -> Deck:
    """The ``PowerPoint Document`` stream (with ``Current User`` and ``Pictures``) -> slides. ``PptFormatError`` says why not."""
    offset, encrypted = current_edit_offset(current_user)
    if encrypted:
        raise PptFormatError(_PROTECTED)
    edit = record_at(data, offset) if offset is not None else None
    if edit is None or edit.type != RT_USER_EDIT:  # Current User missing or pointing nowhere: the last edit in the stream
        offset = last_user_edit(data)
    if offset is None:
        raise PptFormatError("no edit record found: a PowerPoint 95 or older deck, or a damaged one; "
                             "open it in PowerPoint or LibreOffice and save it as .pptx")
    persist = read_persist(data, offset)
    if persist.encrypted:
        raise PptFormatError(_PROTECTED)
    document = persisted(data, persist, persist.document, RT_DOCUMENT)
    if document is None:
        raise PptFormatError("its document record is missing or damaged")
    notes = notes_by_slide(data, document, persist)
    pictures = deck_pictures(data, document, pictures_stream)
    slides: list[SlideParts | None] = []
    for entry in slide_list(data, document, 0):
        container = persisted(data, persist, entry.persist_ref, RT_SLIDE)
        slides.append(None if container is None else read_slide(data, container, entry, notes.get(entry.slide_id, ""), pictures))
    return Deck(slides, "")


def read_ppt(path: Path) -> Deck:
    """A ``.ppt`` file's slides and title (File > Properties); ``PptFormatError`` says why not. A PowerPoint 95
    file saved with a 97 copy inside (``PP97_DUALSTORAGE``) is read from that copy."""
    with open_compound(path, PptFormatError, "PowerPoint 97-2003 deck") as ole:
        if ole.exists("EncryptedSummary"):
            raise PptFormatError(_PROTECTED)
        root = "PP97_DUALSTORAGE/" if ole.exists("PP97_DUALSTORAGE/PowerPoint Document") else ""
        if not ole.exists(root + "PowerPoint Document"):
            raise PptFormatError("it has no 'PowerPoint Document' stream (another Office 97-2003 file?)")

        def stream(name: str) -> bytes:
            return ole.openstream(root + name).read() if ole.exists(root + name) else b""

        data, current_user, pictures = stream("PowerPoint Document"), stream("Current User"), stream("Pictures")
        title = ole_title(ole)
    deck = parse_deck(data, current_user or None, pictures)
    return Deck(deck.slides, title)


class LegacySlidesLoader:
    """Loader for the ``ppt`` kind (PowerPoint 97-2003)."""

    kinds: tuple[str, ...] = ("ppt",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        deck = read_compound(path, config, "PowerPoint 97-2003 deck",
                             "open it in PowerPoint or LibreOffice and save it as .pptx", read_ppt, PptFormatError)
        if not deck.slides:
            raise IngestError(str(path), "no slides in this PowerPoint 97-2003 deck")
        yield from deck_segments(path, deck.slides, "ppt", deck.title, config)


__all__ = [
    "Deck",
    "LegacySlidesLoader",
    "PptFormatError",
    "paragraphs",
    "parse_deck",
    "read_ppt",
    "slide_list",
]
