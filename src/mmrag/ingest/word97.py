"""Word 97-2003 documents (``.doc``, ``.dot``): the text, read from the binary format itself.

An old ``.doc`` is an OLE2 compound file. olefile (BSD-2, pure Python; the ``office`` extra) opens
it; the text is where the format's specification puts it ([MS-DOC] 2.4.1, "Retrieving Text"): the
File Information Block at the start of the ``WordDocument`` stream names the table stream
(``0Table`` or ``1Table``) and, in it, the piece table (``Clx``); each piece is a run of characters
in the ``WordDocument`` stream, 8-bit (Windows-1252) or UTF-16. The characters then split into
stories by the counts in the FIB: the main text, footnotes, headers and footers, comments,
endnotes, text boxes.

Written here, not taken from a library: no maintained pure-Python package reads ``.doc`` text
(antiword and catdoc are C programs a user may not have; textract shells out to them; Apache Tika
needs Java), and what is needed is the piece table, a page of the specification.

What a user gets, as for ``.docx`` (``ingest/word.py``, ``office.document_segments``): the body's
paragraphs in order, tables row by row where they stand (``Region | Revenue``) and as typed rows
(``--where``), fields shown as their result (a date, a page reference), then ``## Footnotes``,
``## Endnotes``, ``## Comments`` (``- Ana Silva: check this``: the reviewer's name from the comment's reference),
``## Text boxes`` and ``## Page headers and footers`` (each distinct one once, bare page numbers left
out), and the body's pictures, inline and floating, where they stand with their alt text (``word97_pictures.py``;
captioned by the paragraph beside them, as for ``.docx``). Not read: headings (styles live in a binary style
sheet, so no ``#`` marks), pictures in text boxes and headers. Password-protected files get a clear error.

**Word 6 and Word 95** files (their own signature; no table stream) are read for their text: one run of 8-bit
text, or the pieces of a fast-saved file, in the code page their fonts declare (a Cyrillic document: 1251), split
into the same stories; no pictures, reviewers' names or table row ends (a table's cells are read as one row).
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.ingest.office import (
    DocumentParts,
    add_table,
    alt_words,
    cell_text,
    codepage_codec,
    comment_line,
    document_segments,
    has_words,
    ole_title,
    open_compound,
    read_compound,
    section,
)
from mmrag.ingest.tables import Table
from mmrag.ingest.word97_pictures import (
    FLOATING_MARK,
    INLINE_MARK,
    DocPicture,
    floating_pictures,
    inline_pictures,
    sprms,
)
from mmrag.types import Segment

_WORD_IDENT = 0xA5EC
_OLDER_IDENTS = (0xA5DC, 0xA699)  # Word 6 and Word 95 (and their Asian editions) write these
_NFIB_WORD97 = 0x00C1  # Word 97 and every later version write at least this in the base FIB
MAX_CHARACTERS = 50_000_000  # a piece table claiming more text than this is damaged


@dataclass(frozen=True)
class Stories:
    """A document's text split by story, as the FIB counts them (control characters still in)."""

    main: str
    footnotes: str
    headers: str
    comments: str
    endnotes: str
    text_boxes: str


class DocFormatError(ValueError):
    """The stream is not a Word 97-2003 document this reader can read; the message says why."""


def _u16(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<H", data, at)[0])


def _u32(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


@dataclass(frozen=True)
class Fib:
    """What is needed of the File Information Block: the table stream, the piece table, the story lengths."""

    table_stream: str
    fc_clx: int
    lcb_clx: int
    fc_papx: int  # the bin table of paragraph properties (PlcBtePapx): where table rows end
    lcb_papx: int
    story_lengths: tuple[int, ...]  # ccpText, ccpFtn, ccpHdd, ccpMcr, ccpAtn, ccpEdn, ccpTxbx, ccpHdrTxbx
    fc_chpx: int = 0  # the bin table of character properties (PlcBteChpx): where inline pictures are
    lcb_chpx: int = 0
    fc_spa: int = 0  # the main text's floating shapes (PlcSpaMom)
    lcb_spa: int = 0
    fc_art: int = 0  # the document's drawings and picture store (OfficeArtContent, "DggInfo")
    lcb_art: int = 0
    fc_comment_refs: int = 0  # each comment's reviewer, by index into the authors (PlcfandRef)
    lcb_comment_refs: int = 0
    fc_comment_texts: int = 0  # where each comment's text starts in the comments story (PlcfandTxt)
    lcb_comment_texts: int = 0
    fc_authors: int = 0  # the reviewers' names (GrpXstAtnOwners)
    lcb_authors: int = 0


def read_fib(word: bytes) -> Fib:
    """The FIB at the start of a ``WordDocument`` stream (pure); ``DocFormatError`` if it is not one."""
    try:
        if _u16(word, 0) in _OLDER_IDENTS:
            raise DocFormatError("it is a Word 6 or Word 95 document, an older format: open it in a word processor and save it as .docx")
        if _u16(word, 0) != _WORD_IDENT:
            raise DocFormatError("its WordDocument stream does not start with Word's signature")
        if _u16(word, 2) < _NFIB_WORD97:
            raise DocFormatError("it is a Word 6 or Word 95 document, an older format: open it in a word processor and save it as .docx")
        flags = _u16(word, 0x0A)
        if flags & 0x0100:  # fEncrypted (also set when obfuscated)
            raise DocFormatError("it is password-protected (encrypted): open it in Word, remove the password and save it again")
        at = 32
        at += 2 + 2 * _u16(word, at)  # csw, fibRgW
        cslw = _u16(word, at)
        longs = struct.unpack_from(f"<{cslw}i", word, at + 2)
        at += 2 + 4 * cslw
        cb = _u16(word, at)
        pairs = struct.unpack_from(f"<{2 * cb}I", word, at + 2)
    except struct.error:
        raise DocFormatError("its file information block is cut short (a truncated or damaged file)") from None
    if cslw < 11 or cb < 34:
        raise DocFormatError("its file information block is too short for a Word 97-2003 document")
    lengths = tuple(max(0, int(n)) for n in longs[3:11])
    drawing = (int(pairs[80]), int(pairs[81]), int(pairs[100]), int(pairs[101])) if cb >= 51 else (0, 0, 0, 0)
    comments = (int(pairs[8]), int(pairs[9]), int(pairs[10]), int(pairs[11]), int(pairs[72]), int(pairs[73]))
    return Fib("1Table" if flags & 0x0200 else "0Table", int(pairs[66]), int(pairs[67]), int(pairs[26]), int(pairs[27]), lengths,
               int(pairs[24]), int(pairs[25]), *drawing, *comments)


ROW_END = "\x1d"  # put for a table row's end mark (a 0x07 that paragraph properties say ends a row)
CELL_BREAK = "\x1c"  # put for a paragraph mark inside a table cell (a cell's own last paragraph ends with 0x07)
_TTP_SPRMS = (0x2417, 0x244C)  # sprmPFTtp, sprmPFInnerTtp: this paragraph mark ends a table row
_IN_TABLE_SPRMS = (0x2416, 0x244B)  # sprmPFInTable, sprmPFInnerTableCell: this paragraph is in a table cell


@dataclass(frozen=True)
class TableMarks:
    """Byte offsets (in ``WordDocument``) just past paragraph marks that end a table row, and past those that
    end a paragraph inside a table cell."""

    row_ends: frozenset[int] = frozenset()
    in_table: frozenset[int] = frozenset()


def _table_flags(grpprl: bytes) -> tuple[bool, bool]:
    """``(in a table, ends a row)`` from a paragraph's properties (pure)."""
    in_table = row_end = False
    for sprm, operand in sprms(grpprl):
        on = bool(operand[:1]) and operand[0] != 0
        if sprm in _TTP_SPRMS and on:
            row_end = in_table = True
        elif sprm in _IN_TABLE_SPRMS and on:
            in_table = True
    return in_table, row_end


def table_marks(word: bytes, table: bytes, fib: Fib) -> TableMarks:
    """Where table rows end and which paragraph marks are inside table cells (pure).

    A table cell and a row both end with 0x07, and a cell's paragraphs but its last end with 0x0D like any
    paragraph; only the paragraph properties tell them apart, in the 512-byte pages (FKPs) the bin table
    ``PlcBtePapx`` points at. Damaged pages are skipped."""
    plc = table[fib.fc_papx : fib.fc_papx + fib.lcb_papx]
    n = (len(plc) - 4) // 8
    if n < 1:
        return TableMarks()
    ends: set[int] = set()
    inside: set[int] = set()
    for k in range(n):
        pn = _u32(plc, 4 * (n + 1) + 4 * k) & 0x3FFFFF
        page = word[pn * 512 : pn * 512 + 512]
        if len(page) < 512:
            continue
        crun = page[511]
        if 4 * (crun + 1) + 13 * crun > 511:
            continue
        fcs = struct.unpack_from(f"<{crun + 1}I", page, 0)
        for i in range(crun):
            at = 2 * page[4 * (crun + 1) + 13 * i]
            if at == 0 or at >= 511:
                continue
            cb = page[at]
            data = page[at + 2 : at + 2 + 2 * page[at + 1]] if cb == 0 else page[at + 1 : at + 2 * cb]
            in_table, row_end = _table_flags(data[2:])  # after the style index
            if row_end:
                ends.add(int(fcs[i + 1]))
            elif in_table:
                inside.add(int(fcs[i + 1]))
    return TableMarks(frozenset(ends), frozenset(inside))


def read_pieces(clx: bytes) -> list[tuple[int, int, int, bool]]:
    """The piece table in a ``Clx``: ``(first character, end character, byte offset, 8-bit)`` (pure)."""
    at = 0
    while at < len(clx):
        if clx[at] == 0x01:  # a Prc (formatting of the pieces): skipped
            if at + 3 > len(clx):
                break
            at += 3 + _u16(clx, at + 1)
        elif clx[at] == 0x02:  # the Pcdt: the piece table itself
            if at + 5 > len(clx):
                break
            lcb = _u32(clx, at + 1)
            plc = clx[at + 5 : at + 5 + lcb]
            n = (len(plc) - 4) // 12
            if n < 1 or len(plc) < 4 + 12 * n:
                break
            cps = struct.unpack_from(f"<{n + 1}I", plc, 0)
            out = []
            for k in range(n):
                fc = _u32(plc, 4 * (n + 1) + 8 * k + 2)
                eight_bit = bool(fc & 0x40000000)
                fc &= 0x3FFFFFFF
                out.append((int(cps[k]), int(cps[k + 1]), fc // 2 if eight_bit else fc, eight_bit))
            return out
        else:
            break
    raise DocFormatError("its piece table is damaged (the text cannot be located)")


def piece_text(word: bytes, pieces: list[tuple[int, int, int, bool]], marks: TableMarks | None = None,
               codec: str = "cp1252") -> str:
    """The document's characters, piece after piece, 8-bit pieces in ``codec`` (pure); with ``marks``
    (``table_marks``), a 0x07 that ends a row becomes ``ROW_END`` and a 0x0D inside a table cell ``CELL_BREAK``."""
    row_ends, in_table = sorted((marks or TableMarks()).row_ends), sorted((marks or TableMarks()).in_table)

    def inside(ends: list[int], lo: int, hi: int) -> list[int]:  # the marks with lo < end <= hi
        return ends[bisect_right(ends, lo) : bisect_right(ends, hi)]

    out: list[str] = []
    total = 0
    for cp0, cp1, fc, eight_bit in pieces:
        n = cp1 - cp0
        if n <= 0:
            continue
        total += n
        if total > MAX_CHARACTERS:
            raise DocFormatError(f"its piece table claims over {MAX_CHARACTERS:,} characters (a damaged file)")
        width = 1 if eight_bit else 2
        text = word[fc : fc + width * n].decode(codec if eight_bit else "utf-16-le", errors="replace")
        found = [((end - fc) // width - 1, "\x07", ROW_END) for end in inside(row_ends, fc, fc + width * n)]
        found += [((end - fc) // width - 1, "\r", CELL_BREAK) for end in inside(in_table, fc, fc + width * n)]
        if found:
            chars = list(text)
            for i, was, put in found:
                if 0 <= i < len(chars) and chars[i] == was:
                    chars[i] = put
            text = "".join(chars)
        out.append(text)
    return "".join(out)


def split_stories(text: str, lengths: tuple[int, ...]) -> Stories:
    """The characters cut into stories by the FIB's counts (pure)."""
    parts, at = [], 0
    for n in lengths:
        parts.append(text[at : at + n])
        at += n
    main, footnotes, headers, _macros, comments, endnotes, boxes, _header_boxes = parts
    return Stories(main, footnotes, headers, comments, endnotes, boxes)


_DROP = dict.fromkeys(range(32), None) | {ord("\t"): " ", 0x1E: "-", 0xA0: " ", 0x1F: None}


@dataclass(frozen=True)
class PictureMark:
    """Where a picture stands among a story's blocks: the character position of its mark."""

    position: int


def story_blocks(story: str, pictures: Collection[int] = ()) -> list[str | list[list[str]] | PictureMark]:
    """A story's paragraphs (str), tables (rows of cells) and, at the positions in ``pictures`` (an inline
    picture's 0x01 or a floating one's 0x08 anchor), ``PictureMark``s, in order (pure).

    Fields (``\\x13`` instruction ``\\x14`` result ``\\x15``, nested) keep their result; ``\\r`` and
    page or section breaks end a paragraph; ``\\x07`` ends a table cell, ``ROW_END`` a row and ``CELL_BREAK``
    a paragraph inside a cell (a space in that cell's text); other
    control characters (picture and footnote anchors) are dropped."""
    blocks: list[str | list[list[str]] | PictureMark] = []
    fields: list[bool] = []  # per open field: still in its instruction
    buf: list[str] = []
    row: list[str] = []
    rows: list[list[str]] = []

    def flush_paragraph() -> None:
        text = " ".join("".join(buf).translate(_DROP).split())
        buf.clear()
        if rows and not row:  # the table above ends here
            blocks.append([r[:] for r in rows])
            rows.clear()
        if text:
            blocks.append(text)

    for position, ch in enumerate(story):
        if ch == "\x13":
            fields.append(True)
        elif ch == "\x14":
            if fields:
                fields[-1] = False
        elif ch == "\x15":
            if fields:
                fields.pop()
        elif fields and fields[-1]:
            pass  # a field's instruction (HYPERLINK "...", PAGE, TOC \\o): not text
        elif position in pictures and ch in (INLINE_MARK, FLOATING_MARK):
            blocks.append(PictureMark(position))  # before the paragraph it stands in: that paragraph is below it
        elif ch == ROW_END:
            if any(row):
                rows.append(row[:])
            row.clear()
            buf.clear()
        elif ch == "\x07":
            row.append(cell_text(" ".join("".join(buf).translate(_DROP).split())))
            buf.clear()
        elif ch in "\r\x0c":
            if row:  # a paragraph break inside a table cell
                buf.append(" ")
            else:
                flush_paragraph()
        elif ch in ("\x0b", CELL_BREAK):
            buf.append(" ")
        else:
            buf.append(ch)
    if row and any(row):
        rows.append(row[:])
        row.clear()
    flush_paragraph()
    if rows:
        blocks.append([r[:] for r in rows])
    return blocks


def stories_parts(stories: Stories, title: str, pictures: Mapping[int, DocPicture] | None = None,
                  comments: Sequence[tuple[str, str]] | None = None) -> DocumentParts:
    """The lines, tables and pictures ``office.document_segments`` indexes: the body (its pictures where they
    stand, by the position of their marks), then the other stories; the comments as ``- Ana Silva: text`` when
    ``comments`` says who wrote each, else the comments story's paragraphs (pure)."""
    lines: list[str] = []
    tables: list[Table] = []
    placed: list[tuple[bytes, str, int]] = []
    pictures = pictures or {}
    for block in story_blocks(stories.main, pictures.keys()):
        if isinstance(block, PictureMark):
            placed.append((pictures[block.position].blob, alt_words(pictures[block.position].alt), len(lines)))
        elif isinstance(block, list):
            add_table(block, lines, tables)
        else:
            lines += [block, ""]
    for story, heading in ((stories.footnotes, "Footnotes"), (stories.endnotes, "Endnotes"), (stories.comments, "Comments"),
                           (stories.text_boxes, "Text boxes")):
        if heading == "Comments" and comments is not None:
            lines += section(heading, (comment_line(who, said) for who, said in comments if said), bullet=True)
            continue
        lines += section(heading, (b for b in story_blocks(story) if isinstance(b, str)), bullet=heading != "Text boxes")
    lines += section("Page headers and footers",
                     dict.fromkeys(b for b in story_blocks(stories.headers) if isinstance(b, str) and has_words(b)))
    return DocumentParts(lines, tables, placed, title)


ATRD_SIZE = 30  # a comment's reference record (ATRDPre10): the reviewer's initials, then the index of their name


def comment_authors(refs: bytes, names: bytes) -> list[str]:
    """Each comment's reviewer, in order, from ``PlcfandRef`` and the names in ``GrpXstAtnOwners`` (pure; "" where
    the index or a name is damaged)."""
    owners: list[str] = []
    at = 0
    while at + 2 <= len(names) and len(owners) < 10_000:
        n = _u16(names, at)
        owners.append(" ".join(names[at + 2 : at + 2 + 2 * n].decode("utf-16-le", "replace").split()))
        at += 2 + 2 * n
    count = (len(refs) - 4) // (4 + ATRD_SIZE)
    out = []
    for k in range(max(0, count)):
        index = int(struct.unpack_from("<h", refs, 4 * (count + 1) + ATRD_SIZE * k + 20)[0])
        out.append(owners[index] if 0 <= index < len(owners) else "")
    return out


def comment_texts(story: str, starts: bytes) -> list[str]:
    """Each comment's words, cut from the comments story at the positions in ``PlcfandTxt`` (pure)."""
    n = len(starts) // 4
    cps = struct.unpack_from(f"<{n}I", starts, 0) if n else ()
    out = []
    for a, b in pairwise(cps):
        blocks = story_blocks(story[a:b])
        out.append(" ".join(x for x in blocks if isinstance(x, str)))
    return out


# Word 6 and Word 95 ([MS-DOC] does not cover them; the layout is the one Apache POI's HWPFOldDocument reads)
_OLD_FC_MIN, _OLD_CCP, _OLD_CLX, _OLD_FONTS = 0x18, 0x34, 0x160, 0xD0
_FONT_CHARSETS = {128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254, 163: 1258, 177: 1255, 178: 1256,
                  186: 1257, 204: 1251, 222: 874, 238: 1250}  # a font's Windows character set -> its code page


def old_codepage(word: bytes) -> int:
    """The code page of a Word 6/95 document's 8-bit text, guessed as Word's readers do: the character set most of
    its fonts declare, other than ANSI and symbol ones (Cyrillic fonts: 1251); 1252 when none (pure)."""
    try:
        at, size = _u32(word, _OLD_FONTS), _u32(word, _OLD_FONTS + 4)
    except struct.error:
        return 1252
    end = min(at + size, len(word))
    pos = at + 2  # after the table's own length
    counts: dict[int, int] = {}
    while pos + 6 <= end and len(counts) < 256:
        page = _FONT_CHARSETS.get(word[pos + 4])
        if page is not None:
            counts[page] = counts.get(page, 0) + 1
        pos += word[pos] + 1
    return max(counts, key=lambda k: counts[k]) if counts else 1252


def old_word_text(word: bytes) -> tuple[str, tuple[int, ...]]:
    """A Word 6/95 document's characters and story lengths (pure): one run of 8-bit text between ``fcMin`` and
    ``fcMac``, or, in a fast-saved ("complex") file, the piece table in the ``WordDocument`` stream itself
    (Word 6's pieces are 8-bit at their plain offsets; the Asian Word 95 marks its 8-bit ones as Word 97 does)."""
    try:
        flags, fc_min, fc_mac = _u16(word, 0x0A), _u32(word, _OLD_FC_MIN), _u32(word, _OLD_FC_MIN + 4)
        lengths = tuple(int(n) for n in struct.unpack_from("<8I", word, _OLD_CCP))
        clx_at, clx_len = _u32(word, _OLD_CLX), _u32(word, _OLD_CLX + 4)
    except struct.error:
        raise DocFormatError("its file information block is cut short (a truncated or damaged file)") from None
    if flags & 0x0100:
        raise DocFormatError("it is password-protected (encrypted): open it in Word, remove the password and save it again")
    codec = codepage_codec(old_codepage(word))
    if flags & 0x0004 and clx_len:
        pieces = read_pieces(word[clx_at : clx_at + clx_len])
        if _u16(word, 0) == 0xA5DC:
            pieces = [(cp0, cp1, fc * 2 if eight_bit else fc, True) for cp0, cp1, fc, eight_bit in pieces]
        text = piece_text(word, pieces, codec=codec)
    else:
        if fc_mac > len(word) or fc_mac - fc_min > MAX_CHARACTERS:
            raise DocFormatError("its text runs past the end of the file (a truncated or damaged file)")
        text = word[fc_min:fc_mac].decode(codec, errors="replace")
    return text, lengths


@dataclass(frozen=True)
class LegacyDoc:
    """What was read of a ``.doc``: its stories, its title, its main text's pictures by the position of their mark."""

    stories: Stories
    title: str
    pictures: dict[int, DocPicture]
    comments: list[tuple[str, str]] | None = None  # (reviewer, words) each, when the file says who wrote which


def read_doc(path: Path) -> LegacyDoc:
    """A ``.doc`` file's stories, title (File > Properties) and pictures; ``DocFormatError`` says why not."""
    with open_compound(path, DocFormatError, "Word 97-2003 document") as ole:
        if not ole.exists("WordDocument"):
            raise DocFormatError("it has no WordDocument stream (another Office 97-2003 file: a sheet or a deck?)")
        word = ole.openstream("WordDocument").read()
        if len(word) >= 2 and _u16(word, 0) in _OLDER_IDENTS:  # Word 6 or Word 95: the text only
            text, lengths = old_word_text(word)
            return LegacyDoc(split_stories(text, lengths), ole_title(ole), {}, None)
        fib = read_fib(word)
        if not ole.exists(fib.table_stream):
            raise DocFormatError(f"its {fib.table_stream} stream is missing (a damaged file)")
        table = ole.openstream(fib.table_stream).read()
        clx = table[fib.fc_clx : fib.fc_clx + fib.lcb_clx]
        pieces = read_pieces(clx)
        text = piece_text(word, pieces, table_marks(word, table, fib))
        title = ole_title(ole)
        data = ole.openstream("Data").read() if ole.exists("Data") else b""
    stories = split_stories(text, fib.story_lengths)
    pictures = floating_pictures(word, table[fib.fc_spa : fib.fc_spa + fib.lcb_spa], table[fib.fc_art : fib.fc_art + fib.lcb_art])
    pictures |= inline_pictures(word, data, table[fib.fc_chpx : fib.fc_chpx + fib.lcb_chpx], pieces, stories.main)
    authors = comment_authors(table[fib.fc_comment_refs : fib.fc_comment_refs + fib.lcb_comment_refs],
                              table[fib.fc_authors : fib.fc_authors + fib.lcb_authors])
    texts = comment_texts(stories.comments, table[fib.fc_comment_texts : fib.fc_comment_texts + fib.lcb_comment_texts])
    comments = list(zip(authors, texts)) if authors and len(texts) >= len(authors) else None
    return LegacyDoc(stories, title, {cp: pic for cp, pic in pictures.items() if cp < len(stories.main)}, comments)


class LegacyWordLoader:
    """Loader for the ``doc`` kind (Word 97-2003)."""

    kinds: tuple[str, ...] = ("doc",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        doc = read_compound(path, config, "Word 97-2003 document", "open it in a word processor and save it as .docx",
                            read_doc, DocFormatError)
        yield from document_segments(path, stories_parts(doc.stories, doc.title, doc.pictures, doc.comments), "doc", config)


__all__ = [
    "CELL_BREAK",
    "ROW_END",
    "DocFormatError",
    "Fib",
    "LegacyDoc",
    "LegacyWordLoader",
    "PictureMark",
    "Stories",
    "TableMarks",
    "piece_text",
    "read_doc",
    "read_fib",
    "read_pieces",
    "split_stories",
    "stories_parts",
    "story_blocks",
    "table_marks",
]
