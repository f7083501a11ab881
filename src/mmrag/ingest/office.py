"""What the Word (``word.py``) and PowerPoint (``slides.py``) loaders share.

Both formats are ZIP packages of XML parts (Office Open XML), read by python-docx and
python-pptx (MIT, well kept). Shared here:

- ``check_package``: the ZIP's own directory is read first, so a package that would inflate past
  ``ingest.max_file_mb`` × ``MAX_INFLATION`` (a ZIP bomb) or is not a ZIP at all is refused with a
  reason before any part is decompressed;
- ``picture_segment``: an embedded picture's bytes -> an image segment (the same safe decode as
  a photo file, ``image.open_image``); icons and bullets smaller than ``MIN_PICTURE_PX`` and
  formats Pillow cannot draw (EMF/WMF vector art) are left out, not errors;
- ``cell_text``: one table cell's text on one line;
- ``DocumentParts`` / ``SlideParts``: what a parser read (lines in reading order, tables, pictures),
  turned into segments the same way for every format by ``document_segments`` / ``deck_segments``
  (Word and OpenDocument text; PowerPoint and OpenDocument presentations).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, MissingDependency
from mmrag.ingest.avio import check_file
from mmrag.ingest.chunking import check_params, chunk_text, has_words
from mmrag.ingest.image import filename_words, make_thumbnail, open_image
from mmrag.ingest.pdf import pick_caption
from mmrag.ingest.sniffing import ZIP_ERRORS
from mmrag.ingest.tables import Table, table_segments
from mmrag.ingest.text import text_segments
from mmrag.markdown import CELL_BAR
from mmrag.types import Modality, Segment, Span

_DEFAULT_NAME = re.compile(r"^(picture|image|graphic|grafik|bild|imagen|immagine|content placeholder|placeholder)\s*\d*$", re.IGNORECASE)
_FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|gif|bmp|tiff?|emf|wmf|svg|webp)$", re.IGNORECASE)
_FIGURE_LINE = re.compile(r"^\s*(fig(ure)?|table|chart|illustration|drawing|image|abb(ildung)?)\.?\s*\d", re.IGNORECASE)
NEARBY_CHARS = 400  # text this close before or after a picture may caption it
MAX_INFLATION = 20  # a package may unpack to at most this many times ingest.max_file_mb
MIN_PICTURE_PX = 32  # smaller embedded pictures are bullets, icons and spacers
MAX_CHART_POINTS = 24  # values of one chart series written into the text
T = TypeVar("T")


def check_package(path: Path, config: IngestConfig, what: str) -> None:
    """Refuse a package that is not a ZIP, or that would inflate past the limit, before reading it."""
    source = str(path)
    try:
        with zipfile.ZipFile(path) as package:
            total = sum(info.file_size for info in package.infolist())
    except OSError as exc:
        raise IngestError(source, f"cannot read the file ({exc.strerror or exc}); check its permissions") from None
    except ZIP_ERRORS:
        raise IngestError(
            source,
            f"not a readable {what} (its ZIP package is damaged or truncated, or the file is password-protected); "
            f"open and save it again",
        ) from None
    limit = config.max_file_mb * MAX_INFLATION * 2**20
    if total > limit:
        raise IngestError(
            source,
            f"its parts unpack to {total / 2**20:,.0f} MB, over {MAX_INFLATION}× ingest.max_file_mb "
            f"({limit / 2**20:,.0f} MB): refused as a possible ZIP bomb; raise ingest.max_file_mb if you trust it",
        )


def require(module: str, package: str, feature: str) -> None:
    """``MissingDependency`` naming the ``office`` extra when python-docx / python-pptx is absent."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(package, "office", feature)


def picture_segment(
    blob: bytes, source: str, config: IngestConfig, *, page: int | None, number: int, text: str,
    meta: Mapping[str, str] | None = None,
) -> Segment | None:
    """An embedded picture as an image segment (``meta.figure`` = ``number``), or ``None`` when it is too
    small to be content or is a format Pillow cannot draw."""
    try:
        img, info = open_image(blob, source, config)
    except IngestError:
        return None  # EMF/WMF vector art, a damaged embedded picture: the rest of the document still lands
    if min(int(info["width"]), int(info["height"])) < MIN_PICTURE_PX:
        return None
    return Segment(
        source=source,
        modality=Modality.IMAGE,
        span=Span(page=page),
        text=text,
        image=img,
        thumbnail=make_thumbnail(img, config.thumbnail_px),
        meta={"figure": str(number), "part": f"fig-{number}", **(meta or {})},
    )


def alt_words(alt: str) -> str:
    """A picture's alt text as words: an office suite's default name ("Picture 3", "Grafik 2") says
    nothing and is dropped; a file name ("revenue_chart.png", inserted from a file) keeps its words, and so does
    the last part of a path (``C:\\Users\\ana\\clip.wmf``: the folders say nothing of the picture). Pure."""
    text = " ".join(alt.split())
    if _DEFAULT_NAME.match(text):
        return ""
    name = re.split(r"[\\/]", text)[-1]
    if _FILE_NAME.match(name):
        return filename_words(name)
    return text


def chart_words(title: str, series: Iterable[tuple[str, Sequence[str], Sequence[object]]],
                most_points: int = MAX_CHART_POINTS) -> list[str]:
    """A chart's words: ``Chart: title``, then one line per series with its values by category
    (``Sales: 1st Qtr 8.2, 2nd Qtr 3.2``), the first ``most_points`` of each; ``None`` values left out (pure)."""
    lines = [f"Chart: {title}"] if title else []
    for name, categories, values in series:
        kept = list(values)[:most_points]
        labels = [*categories, *([""] * len(kept))]
        pairs = [f"{c} {_number(v)}" if c else _number(v) for c, v in zip(labels, kept) if v is not None]
        name = " ".join(str(name or "").split())
        if pairs or name:
            lines.append(f"{name}: {', '.join(pairs)}" if pairs else name)
    return lines


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def comment_line(author: str, text: str) -> str:
    """A reviewer's comment as one paragraph: ``Ana Silva: check this`` (``text`` alone without an author) (pure)."""
    return f"{author}: {text}" if author else text


def section(heading: str, paragraphs: Iterable[str], bullet: bool = False) -> list[str]:
    """Lines of a part read after a document's body (notes, comments, headers): ``## heading``, then each
    non-empty paragraph (``- `` before it when ``bullet``) with a blank line after it; ``[]`` if there is none (pure)."""
    items = [("- " + p if bullet else p) for p in paragraphs if p]
    return [f"## {heading}", "", *(x for p in items for x in (p, ""))] if items else []


def cell_text(text: str) -> str:
    """A table cell's text on one line."""
    return " ".join(text.split())


def add_table(rows: list[list[str]], lines: list[str], tables: list[Table], caption: str = "", gap: bool = True) -> None:
    """A table where it stands: its non-empty rows as ``a | b`` lines (``CELL_BAR``: the prompt keeps each a line
    of its own) (then a blank line when ``gap``), and, with a header and at least one data row, a ``Table`` for
    its typed row segments."""
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    lines.extend(CELL_BAR.join(r) for r in rows)
    if gap:
        lines.append("")
    if len(rows) >= 2:
        tables.append(Table(header=rows[0], rows=rows[1:], caption=caption))


def ole_title(ole: Any) -> str:
    """An Office 97-2003 file's title (File > Properties), from its summary information stream; "" when it has
    none. Read here, not by olefile's ``get_metadata``: that parser loops over whatever count a damaged property
    claims (a fuzzed deck hung it for minutes), where only two fixed properties are wanted."""
    try:
        if not ole.exists("\x05SummaryInformation"):
            return ""
        return summary_title(ole.openstream("\x05SummaryInformation").read(MAX_SUMMARY_BYTES))
    except Exception:  # noqa: BLE001 - the summary information is optional: a damaged one is no title
        return ""


MAX_SUMMARY_BYTES = 1 << 20  # a summary information stream is a few kB; more is not read
_VT_I2, _VT_LPSTR, _VT_LPWSTR = 2, 30, 31


def summary_title(data: bytes) -> str:
    """The title (property 2) of a summary information property set ([MS-OLEPS]), decoded by the code page the
    set declares (property 1; a Japanese deck's title is Shift-JIS); "" when absent or damaged. Pure and bounded:
    every read is checked against the stream's length."""
    import struct

    def u32(at: int) -> int:
        if at < 0 or at + 4 > len(data):
            raise ValueError("past the end")
        return int(struct.unpack_from("<I", data, at)[0])

    try:
        start = u32(44)  # the first property set's offset, after the 28-byte header and its 16-byte format id
        count = min(u32(start + 4), 1024)
        found: dict[int, int] = {}
        for k in range(count):
            pid, at = u32(start + 8 + 8 * k), u32(start + 12 + 8 * k)
            if pid in (1, 2):
                found[pid] = start + at
        codepage = 1252
        if 1 in found and u32(found[1]) == _VT_I2:
            codepage = int(struct.unpack_from("<h", data, found[1] + 4)[0])
        if 2 not in found:
            return ""
        kind, length = u32(found[2]), u32(found[2] + 4)
        raw = data[found[2] + 8 : found[2] + 8 + min(length * (2 if kind == _VT_LPWSTR else 1), 4096)]
    except (ValueError, struct.error):
        return ""
    if kind == _VT_LPWSTR:
        text = raw.decode("utf-16-le", "replace")
    elif kind == _VT_LPSTR:
        text = raw.decode(codepage_codec(codepage), "replace")
    else:
        return ""
    return " ".join(text.split("\x00")[0].split())


def codepage_codec(codepage: int) -> str:
    """Python's codec for a Windows code page number (1252 when Python lacks it) (pure)."""
    import codecs

    if codepage < 0:  # stored as a signed 16-bit number: 65001 (UTF-8) reads -535
        codepage += 65536
    name = {65001: "utf-8", 1200: "utf-16-le", 10000: "mac-roman", 20127: "ascii", 28591: "latin-1"}.get(
        codepage, f"cp{codepage}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "cp1252"


@contextmanager
def open_compound(path: Path, error: type[Exception], what: str) -> Iterator[Any]:
    """An Office 97-2003 or Outlook file opened by olefile; ``error`` ("it is not an OLE2 compound file, which every
    Word 97-2003 document is") when it is not a compound file at all."""
    import olefile

    if not olefile.isOleFile(str(path)):
        raise error(f"it is not an OLE2 compound file, which every {what} is")
    with olefile.OleFileIO(str(path)) as ole:
        yield ole


def read_compound(path: Path, config: IngestConfig, what: str, fix: str, read: Callable[[Path], T],
                  format_error: type[Exception]) -> T:
    """What every Office 97-2003 and Outlook loader does first: olefile present, chunk settings, size (no ZIP: nothing
    inflates past it); then ``read(path)``. Its ``format_error`` becomes "not read as a Word 97-2003 document: it is
    password-protected ...", and what olefile, struct and email raise on a damaged file "not a readable Word 97-2003
    document (...); ``fix``", each one ``IngestError`` for the file."""
    import email.errors
    import struct

    article = "an" if what[:1] in "AEIOU" else "a"
    require("olefile", "olefile", f"{what}s")
    check_params(config.chunk_words, config.chunk_overlap)
    check_file(path, config.max_file_mb)
    try:
        return read(path)
    except format_error as exc:
        raise IngestError(str(path), f"not read as {article} {what}: {exc}") from None
    except (OSError, ValueError, struct.error, IndexError, TypeError, email.errors.MessageError) as exc:
        raise IngestError(str(path), f"not a readable {what} ({type(exc).__name__}: {exc}); {fix}") from None


def prepare(path: Path, config: IngestConfig, what: str, package: bool = True) -> None:
    """The checks every package loader makes before opening: chunk settings, size, ZIP directory (``package=False``:
    a flat file, one XML document, has none)."""
    check_params(config.chunk_words, config.chunk_overlap)
    check_file(path, config.max_file_mb)
    if package:
        check_package(path, config, what)


@dataclass(frozen=True)
class DocumentParts:
    """A flowing document as read: ``lines`` (paragraphs, Markdown headings, ``- items``, table rows,
    blank lines between blocks), its ``tables``, its ``pictures`` as ``(bytes, alt text, index into lines
    where the picture stands)``, and its ``title``."""

    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    pictures: list[tuple[bytes, str, int]] = field(default_factory=list)
    title: str = ""


@dataclass(frozen=True)
class SlideParts:
    """One slide as read: its ``title``, its other ``lines`` in reading order, a paragraph each (speaker
    notes last, as ``Notes: ...``), its ``tables`` and its ``pictures`` as ``(bytes, alt text)``."""

    title: str = ""
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    pictures: list[tuple[bytes, str]] = field(default_factory=list)


def document_segments(path: Path, parts: DocumentParts, fmt: str, config: IngestConfig) -> Iterator[Segment]:
    """Text chunks, table rows and captioned pictures of a flowing document; ``IngestError`` when it
    holds neither text nor pictures. A picture's caption: a "Figure N" (or "Illustration N") line beside
    it and its alt text, else its alt text and the paragraph beside it (below, else above)."""
    source = str(path)
    lines = parts.lines
    body = "\n".join(lines).strip()
    if not body and not parts.pictures:
        raise IngestError(source, f"no text or pictures in this {_WHAT.get(fmt, fmt)}")
    meta: dict[str, str] = {"format": fmt}
    if parts.title:
        meta["title"] = parts.title[:200]
    if body:
        yield from text_segments(source, body, meta, config)
    yield from table_segments(source, parts.tables)
    words = filename_words(path.name)
    number = 0
    for blob, alt, at in parts.pictures:
        above = next((x for x in reversed(lines[:at]) if x), "").lstrip("#- ")[-NEARBY_CHARS:]
        below = next((x for x in lines[at:] if x), "").lstrip("#- ")[:NEARBY_CHARS]  # the paragraph beside it
        caption = pick_caption(below, above, "")
        if alt and caption:  # a "Figure N" line first, else the author's description first
            caption = f"{caption} {alt}" if _FIGURE_LINE.match(caption) else f"{alt.rstrip('. ')}. {caption}"
        caption = (caption or alt)[:NEARBY_CHARS]
        seg = picture_segment(blob, source, config, page=None, number=number + 1,
                              text=caption or words)  # no caption: its file's words, as a photo file has
        if seg is not None:
            number += 1
            yield seg


def deck_segments(
    path: Path, slides: Iterable[SlideParts | None], fmt: str, deck_title: str, config: IngestConfig,
    unit: str = "slide",
) -> Iterator[Segment]:
    """Per slide (numbered from 1; ``None``: a slide that could not be read, skipped): its text (title
    first, chunked when long; its first picture as the thumbnail), its pictures captioned by their alt
    text and the slide's title, its table rows. ``IngestError`` when no slide holds anything. ``unit``:
    what a numbered part is called in a hit's label (``slide``; an e-book's ``section``)."""
    source = str(path)
    words = filename_words(path.name)
    found = False
    figure = 0
    n_tables = 0
    for number, slide in enumerate(slides, 1):
        if slide is None:
            continue
        meta = {"format": fmt, "page_unit": unit}
        if slide.title:
            meta[f"{unit}_title"] = slide.title[:200]
        if deck_title:
            meta["title"] = deck_title[:200]
        picture_segs: list[Segment] = []
        for blob, alt in slide.pictures:
            # its alt text and the slide's title: the slide's other words are its text segment's, so a
            # query for them finds the slide once, and the picture by its pixels
            # nothing said of it: its file's words, as a photo file has ("slide 3" would match every query
            # with "slide" in it, the pictures nobody described first)
            caption = f"{alt} {slide.title}".strip()[:NEARBY_CHARS] or words
            seg = picture_segment(blob, source, config, page=number, number=figure + 1, text=caption, meta=meta)
            if seg is not None:
                figure += 1
                picture_segs.append(seg)
        body = "\n\n".join(([f"# {slide.title}"] if slide.title else []) + slide.lines).strip()  # a paragraph a line
        thumb = picture_segs[0].thumbnail if picture_segs else None
        for k, chunk in enumerate(chunk_text(body, config.chunk_words, config.chunk_overlap) if body else []):
            found = True
            yield Segment(
                source=source,
                modality=Modality.TEXT,
                span=Span(page=number, start=chunk.start, end=chunk.end),
                text=chunk.text,
                thumbnail=thumb if k == 0 else None,
                meta=meta,
            )
        found = found or bool(picture_segs)
        yield from picture_segs
        yield from table_segments(source, slide.tables, page=number, first_number=n_tables + 1, page_unit=unit)
        n_tables += len(slide.tables)
    if not found:
        raise IngestError(source, f"no text or pictures in any {unit} of this {_WHAT.get(fmt, 'deck')}")


_WHAT = {"docx": "Word document", "odt": "OpenDocument text", "epub": "e-book", "enex": "Evernote export", "pptx": "deck", "odp": "deck",
         "email": "mailbox"}


__all__ = [
    "MAX_INFLATION",
    "MIN_PICTURE_PX",
    "NEARBY_CHARS",
    "DocumentParts",
    "SlideParts",
    "add_table",
    "alt_words",
    "cell_text",
    "check_package",
    "comment_line",
    "deck_segments",
    "document_segments",
    "has_words",
    "picture_segment",
    "prepare",
    "require",
    "section",
]
