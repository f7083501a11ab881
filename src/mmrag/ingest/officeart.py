"""OfficeArt drawings ([MS-ODRAW]) and the record layer Office 97-2003 files share.

PowerPoint's ``PowerPoint Document`` stream and the drawings inside Word and PowerPoint files are trees of
records: an 8-byte header (version and instance, type, payload length), a container's payload being more
records. Pictures live in BLIP records (PNG, JPEG, DIB, TIFF bitmaps; EMF, WMF, PICT vector art); a shape
names its picture by index in the file's picture store (``pib``) and may carry alt text (``wzDescription``).
Pure functions over bytes, every read checked against its container (``ppt97.py``, ``word97_pictures.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

OA_DGG = 0xF000
OA_BSTORE = 0xF001
OA_DG = 0xF002
OA_GROUP = 0xF003
OA_SHAPE = 0xF004
OA_FBSE = 0xF007
OA_FSP = 0xF00A
OA_OPT = 0xF00B
OA_CLIENT_ANCHOR = 0xF010
OA_TERTIARY_OPT = 0xF122
BLIP_TYPES = {0xF01D: "jpeg", 0xF01E: "png", 0xF01F: "dib", 0xF029: "tiff", 0xF02A: "jpeg"}  # EMF/WMF/PICT: vector art
PROP_PIB = 0x0104  # the shape's picture, by its 1-based index in the store
PROP_DESCRIPTION = 0x0381  # wzDescription: alt text
MAX_DEPTH = 32  # records nested deeper than this are not read (hostile files)


@dataclass(frozen=True)
class Record:
    """One record: its type, instance, version, and where its payload lies in the stream."""

    type: int
    instance: int
    version: int
    start: int
    end: int

    @property
    def is_container(self) -> bool:
        return self.version == 0xF


def record_at(data: bytes, offset: int, limit: int | None = None) -> Record | None:
    """The record whose header starts at ``offset``, or ``None`` when its header or payload runs past ``limit``."""
    limit = len(data) if limit is None else min(limit, len(data))
    if offset < 0 or offset + 8 > limit:
        return None
    ver_inst, rtype, length = struct.unpack_from("<HHI", data, offset)
    if offset + 8 + length > limit:
        return None
    return Record(rtype, ver_inst >> 4, ver_inst & 0xF, offset + 8, offset + 8 + length)


def children(data: bytes, parent: Record) -> Iterator[Record]:
    """A container's records in order (none for an atom); stops at the first that does not fit."""
    if not parent.is_container:
        return
    offset = parent.start
    while offset < parent.end:
        rec = record_at(data, offset, parent.end)
        if rec is None:
            return
        yield rec
        offset = rec.end


def descendants(data: bytes, parent: Record, depth: int = 0) -> Iterator[Record]:
    """Every record inside ``parent``, depth first in file order."""
    if depth >= MAX_DEPTH:
        return
    for rec in children(data, parent):
        yield rec
        yield from descendants(data, rec, depth + 1)


def first(data: bytes, parent: Record, rtype: int, instance: int | None = None) -> Record | None:
    """The first child of ``parent`` of that type (and instance)."""
    for rec in children(data, parent):
        if rec.type == rtype and (instance is None or rec.instance == instance):
            return rec
    return None


def shape_properties(data: bytes, rec: Record) -> dict[int, int | bytes]:
    """An OfficeArt property table: simple values by property id, complex ones (strings) as their bytes."""
    count = rec.instance
    if rec.start + 6 * count > rec.end:
        return {}
    props: dict[int, int | bytes] = {}
    extra = rec.start + 6 * count
    for k in range(count):
        opid, value = struct.unpack_from("<HI", data, rec.start + 6 * k)
        pid = opid & 0x3FFF
        if opid & 0x8000:  # complex: its bytes follow the table, in order
            props[pid] = data[extra : min(extra + value, rec.end)]
            extra += value
        else:
            props[pid] = value
    return props


def store_entry_blip(data: bytes, entry: Record, delay: bytes) -> bytes | None:
    """A picture store entry's (``FBSE``) picture: inside the entry, else at its offset in ``delay`` (PowerPoint's
    ``Pictures`` stream, Word's ``WordDocument`` stream); ``None`` for vector art, an empty entry or damage."""
    if entry.type in BLIP_TYPES:  # a picture record standing in the store by itself
        return blip_bytes(data, entry.start - 8)
    if entry.type != OA_FBSE or entry.end - entry.start < 36:
        return None
    size, _refs, offset = struct.unpack_from("<III", data, entry.start + 20)
    embedded = entry.start + 36 + data[entry.start + 33]  # after the fixed fields and the name
    if embedded + 8 <= entry.end:
        return blip_bytes(data, embedded)
    return blip_bytes(delay, offset) if size and delay else None


def picture_store(data: bytes, store: Record | None, delay: bytes) -> list[bytes | None]:
    """A store's pictures by index (from 0): a decodable file's bytes, or ``None``."""
    return [] if store is None else [store_entry_blip(data, entry, delay) for entry in children(data, store)]


def blip_bytes(stream: bytes, offset: int) -> bytes | None:
    """A picture record's file bytes (a DIB gets its BMP file header back); ``None`` for vector art or damage."""
    rec = record_at(stream, offset)
    if rec is None or rec.type not in BLIP_TYPES:
        return None
    for uids in ((1 + (rec.instance & 1)), (2 - (rec.instance & 1))):  # the instance says one or two 16-byte ids
        body = stream[rec.start + 16 * uids + 1 : rec.end]  # then one tag byte
        kind = BLIP_TYPES[rec.type]
        if kind == "png" and body.startswith(b"\x89PNG"):
            return body
        if kind == "jpeg" and body.startswith(b"\xff\xd8"):
            return body
        if kind == "tiff" and body[:4] in (b"II*\x00", b"MM\x00*"):
            return body
        if kind == "dib" and len(body) >= 40:
            header = struct.unpack_from("<I", body)[0]
            (bits,), (compression,), (colours,) = (struct.unpack_from(f, body, at) for f, at in (("<H", 14), ("<I", 16), ("<I", 32)))
            if header in (40, 52, 56, 108, 124):
                masks = 12 if header == 40 and compression == 3 else 0  # BI_BITFIELDS: three colour masks follow
                palette = masks + 4 * (colours or (1 << bits if bits <= 8 else 0))
                return b"BM" + struct.pack("<IHHI", 14 + len(body), 0, 0, 14 + header + palette) + body
    return None


def alt_text(props: dict[int, int | bytes]) -> str:
    """A shape's alt text (``wzDescription``) as written, "" when none."""
    raw = props.get(PROP_DESCRIPTION)
    return raw.decode("utf-16-le", "replace").split("\x00")[0] if isinstance(raw, bytes) else ""


__all__ = [
    "BLIP_TYPES",
    "Record",
    "alt_text",
    "blip_bytes",
    "children",
    "descendants",
    "first",
    "picture_store",
    "record_at",
    "shape_properties",
    "store_entry_blip",
]
