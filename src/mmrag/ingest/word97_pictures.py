"""Pictures in Word 97-2003 documents: where each stands in the text, and its file.

A ``.doc`` marks a picture by a character in its text ([MS-DOC] 2.4.6.3 and 2.9.158):

- **inline** (in a line of text, like a letter): the character 0x01, whose character properties hold
  ``sprmCPicLocation``, the offset in the ``Data`` stream of a picture header (``PICF``) followed by an
  OfficeArt shape (alt text there) and its picture store entry with the picture inside;
- **floating** (anchored to a paragraph, text wrapping around it): the character 0x08 at the anchor;
  the table of floating shapes (``PlcSpaMom``) gives each anchor's shape id, the document's OfficeArt
  drawing (``OfficeArtContent``) gives that shape's picture index, and the store entry the picture's bytes
  in the ``WordDocument`` stream.

``doc_pictures`` returns each picture's file bytes and alt text by the character position of its mark, so
``word97.stories_parts`` places it where it stands (its caption: the paragraph beside it, as for ``.docx``).
Vector art (WMF/EMF) is left out; a damaged page or record drops that picture only. Pure functions.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from mmrag.ingest.officeart import (
    OA_BSTORE,
    OA_DG,
    OA_DGG,
    OA_FBSE,
    OA_FSP,
    OA_OPT,
    OA_SHAPE,
    OA_TERTIARY_OPT,
    PROP_PIB,
    Record,
    alt_text,
    children,
    descendants,
    picture_store,
    record_at,
    shape_properties,
    store_entry_blip,
)

INLINE_MARK = "\x01"
FLOATING_MARK = "\x08"
SPRM_PIC_LOCATION = 0x6A03  # sprmCPicLocation: where the picture's header is in the Data stream
SPRM_DATA = 0x0806  # sprmCFData: the location is a form field's data, not a picture
MM_SHAPEFILE = 0x66  # the header is followed by a picture name
FSPA_SIZE = 26
MAX_PICTURES = 1000  # per document


@dataclass(frozen=True)
class DocPicture:
    """One picture: its file's bytes and its alt text."""

    blob: bytes
    alt: str


Pieces = list[tuple[int, int, int, bool]]  # (first character, end character, byte offset, 8-bit), as word97 reads them


def sprms(grpprl: bytes) -> Iterator[tuple[int, bytes]]:
    """A property list's ``(sprm, operand)`` pairs ([MS-DOC] 2.2.5.1); stops at the first that does not fit."""
    sizes = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}  # operand bytes by the sprm's spra bits
    at = 0
    while at + 2 <= len(grpprl):
        sprm = int(struct.unpack_from("<H", grpprl, at)[0])
        at += 2
        size = sizes.get(sprm >> 13)
        if size is None:  # variable: a length byte first (sprmTDefTable's is two bytes)
            if at >= len(grpprl) or (sprm == 0xC615 and grpprl[at] == 255):  # sprmPChgTabs' long form: rare, stop
                return
            if sprm == 0xD608:
                if at + 2 > len(grpprl):
                    return
                size = int(struct.unpack_from("<H", grpprl, at)[0]) + 1
            else:
                size = grpprl[at] + 1
        if at + size > len(grpprl):
            return
        yield sprm, grpprl[at : at + size]
        at += size


def chpx_runs(word: bytes, plc: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Character property runs ``(first byte, end byte, properties)`` from the bin table ``PlcBteChpx`` and the
    512-byte pages it points at; a damaged page is skipped."""
    n = (len(plc) - 4) // 8
    for k in range(max(0, n)):
        pn = int(struct.unpack_from("<I", plc, 4 * (n + 1) + 4 * k)[0]) & 0x3FFFFF
        page = word[pn * 512 : pn * 512 + 512]
        if len(page) < 512:
            continue
        crun = page[511]
        if 4 * (crun + 1) + crun > 511:
            continue
        fcs = struct.unpack_from(f"<{crun + 1}I", page, 0)
        for i in range(crun):
            at = 2 * page[4 * (crun + 1) + i]
            if at == 0 or at >= 511:
                continue  # no properties of its own
            yield int(fcs[i]), int(fcs[i + 1]), page[at + 1 : at + 1 + page[at]]


def char_positions(fc0: int, fc1: int, pieces: Pieces, most: int = 64) -> list[int]:
    """The character positions of the bytes ``[fc0, fc1)`` of the ``WordDocument`` stream, through the piece table
    (a run of properties may start before the text does); at most ``most``."""
    out: list[int] = []
    for cp0, cp1, start, eight_bit in pieces:
        width = 1 if eight_bit else 2
        lo, hi = max(fc0, start), min(fc1, start + width * (cp1 - cp0))
        if lo < hi:
            first = cp0 + (lo - start + width - 1) // width
            out += range(first, min(cp0 + (hi - start + width - 1) // width, first + most - len(out)))
        if len(out) >= most:
            break
    return out


def inline_picture(data: bytes, location: int) -> DocPicture | None:
    """The picture whose header (``PICF``) is at ``location`` in the ``Data`` stream, with its alt text."""
    if location < 0 or location + 10 > len(data):
        return None
    size, header, mode = struct.unpack_from("<IHH", data, location)
    end = min(location + size, len(data))
    at = location + header
    if header < 0x44 or at >= end:
        return None
    if mode == MM_SHAPEFILE:
        at += 1 + data[at]  # the picture's name
    alt, blob = "", None
    while blob is None and (rec := record_at(data, at, end)) is not None:
        if rec.type == OA_SHAPE:
            alt = alt_text(_properties(data, rec)) or alt
        elif rec.type == OA_FBSE:
            blob = store_entry_blip(data, rec, b"")
        at = rec.end
    return DocPicture(blob, alt) if blob else None


def _properties(data: bytes, shape: Record) -> dict[int, int | bytes]:
    """A shape's property tables merged (its own, then PowerPoint/Word 2007's tertiary one)."""
    props: dict[int, int | bytes] = {}
    for table in children(data, shape):
        if table.type in (OA_OPT, OA_TERTIARY_OPT):
            props |= shape_properties(data, table)
    return props


def inline_pictures(word: bytes, data: bytes, plc: bytes, pieces: Pieces, text: str) -> dict[int, DocPicture]:
    """Inline pictures by the position of their 0x01 mark."""
    out: dict[int, DocPicture] = {}
    for fc0, fc1, grpprl in chpx_runs(word, plc):
        props = dict(sprms(grpprl))
        location = props.get(SPRM_PIC_LOCATION)
        if location is None or len(location) != 4 or props.get(SPRM_DATA, b"\x00")[:1] != b"\x00":
            continue
        marks = [c for c in char_positions(fc0, fc1, pieces) if c < len(text) and text[c] == INLINE_MARK]
        if not marks:
            continue
        picture = inline_picture(data, int(struct.unpack("<I", location)[0]))
        if picture is not None:
            out[marks[0]] = picture
        if len(out) >= MAX_PICTURES:
            break
    return out


def floating_pictures(word: bytes, spa: bytes, art: bytes) -> dict[int, DocPicture]:
    """Floating pictures of the main text by the position of their anchor, from the shape table (``PlcSpaMom``)
    and the document's drawing (``OfficeArtContent``: the picture store, then each drawing after a one-byte
    label, 0 for the main text)."""
    n = (len(spa) - 4) // (4 + FSPA_SIZE)
    if n < 1:
        return {}
    cps = struct.unpack_from(f"<{n + 1}I", spa, 0)
    spids = [int(struct.unpack_from("<i", spa, 4 * (n + 1) + FSPA_SIZE * k)[0]) for k in range(n)]
    dgg = record_at(art, 0)
    if dgg is None or dgg.type != OA_DGG:
        return {}
    store = next((r for r in children(art, dgg) if r.type == OA_BSTORE), None)
    pictures = picture_store(art, store, word)
    shapes: dict[int, DocPicture] = {}
    at = dgg.end
    while at < len(art):
        label = art[at]
        drawing = record_at(art, at + 1)
        if drawing is None or drawing.type != OA_DG:
            break
        if label == 0:  # the main text's drawing (1: headers')
            for shape in (r for r in descendants(art, drawing) if r.type == OA_SHAPE):
                fsp = next((r for r in children(art, shape) if r.type == OA_FSP and r.end - r.start >= 4), None)
                props = _properties(art, shape)
                pib = props.get(PROP_PIB)
                if fsp is None or not isinstance(pib, int) or not 0 < pib <= len(pictures):
                    continue
                blob = pictures[pib - 1]
                if blob:
                    shapes[int(struct.unpack_from("<I", art, fsp.start)[0])] = DocPicture(blob, alt_text(props))
        at = drawing.end
    return {int(cps[k]): shapes[spid] for k, spid in enumerate(spids) if spid in shapes}


__all__ = ["DocPicture", "char_positions", "chpx_runs", "floating_pictures", "inline_picture", "inline_pictures", "sprms"]
