"""PDF documents with pypdfium2 (Apache/BSD; no AGPL library): pages, figures, scans.

Per page (one page in memory at a time):

- its text layer, its title lines as Markdown headings (``pdf_layout``: set larger than the body, or
  bold at its size in its font family) and its running heads and feet left out after their first page, chunked
  (``chunking.chunk_text``) into ``Modality.TEXT`` segments with ``Span(page=n, start, end)`` (offsets
  into that page's text as mmrag reads it, headings marked); a table of contents or an index
  (``pdf_layout.is_contents_page``) is read as its lines, with ``meta["contents"] = "yes"`` and no table
  rows; text segments carry the document's title (``meta["title"]``: its metadata's, else its first
  page's first heading, else its file name's words); an option list is written as its entries (``-C: list
  entries by columns``, ``pdf_layout.option_entry``) and spaces are mended (``pdf_layout.respaced``); the
  page's first segment carries a JPEG thumbnail of the rendered page;
- embedded images at least ``pdf_min_figure_px`` on both sides become
  ``Modality.IMAGE`` segments (``meta = {"figure": "k", "part": "fig-k"}``,
  numbered through the document); their ``text`` is the caption found just
  below or above the figure (else a snippet of the page text). An image drawn
  again on later pages (a logo) is kept once;
- a page without a text layer is rendered and OCR'd (RapidOCR, when
  ``ingest.ocr``): a scanned page becomes text segments (``meta["ocr"]``), and
  its full-page scan is not also indexed as a figure;
- a page with no text and no images but with drawings (a vector chart) is
  indexed as one picture of the whole page (``meta["figure"] = "page"``).

Encrypted, corrupt and empty PDFs raise ``IngestError``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, MissingDependency
from mmrag.ingest.avio import check_file
from mmrag.ingest.chunking import chunk_text, has_words, sectioned, trail_after
from mmrag.ingest.image import MAX_SIDE, filename_words, make_thumbnail, to_rgb
from mmrag.ingest.pdf_layout import (
    CHECK_PAGES,
    PdfLine,
    body_style,
    document_title,
    heading_levels,
    is_contents_page,
    page_markdown,
    plain_table_headers,
    read_lines,
    tables_as_rows,
)
from mmrag.ingest.tables import pdf_tables, table_segments
from mmrag.markdown import Trail, headings, trail_words
from mmrag.types import Modality, Segment, Span

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 20  # a page with less text than this is treated as having no text layer
OCR_SCALE = 2.0  # render scans at 144 dpi for OCR
MAX_RENDER_SIDE = 2400  # px; guards against absurd page sizes
CAPTION_BAND = 72.0  # points (1 inch) above/below a figure searched for its caption
_CAPTION = re.compile(r"^\s*(fig(ure)?|table|chart|plate|abb(ildung)?)\.?\s*\d", re.IGNORECASE)
_lock = threading.Lock()  # pdfium is not thread-safe


def _pdfium() -> Any:
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise MissingDependency("pypdfium2", "media", "'pdf'") from None
    return pdfium


def clean_text(text: str) -> str:
    """Normalise pdfium text: CRLF to LF, drop NULs/soft hyphens, join hyphenated line breaks. Pure."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\u00ad", "")
    text = text.replace("\ufffe", "").replace("\x02", "")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return re.sub(r"[ \t]+\n", "\n", text).strip()


EDGE_LINES = 2  # lines at the top and at the bottom of a page where running heads and feet sit
RUNNING_SHARE = 0.4  # a line at the edge of this share of the pages (3 at least) is a running head or foot ...
RUN_PAGES = 3  # ... and so is one at the edge of this many pages in a row (a chapter's head)
_DIGITS = re.compile(r"\d+")


AFFIX_WORDS = 3  # a head's first or last words repeat while the rest changes ("3.16. PRAGMAS CHAPTER 3. USING SDCC") ...
AFFIX_RUN = 5  # ... on this many pages in a row (or the running share of them), and the line is a running head


def _edge_key(line: str) -> str:
    """A line as running heads repeat it: spaces collapsed, case folded, numbers alike ("Page 3 of 10"). Pure."""
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


def _edge_keys(line: str, outer: bool) -> list[str]:
    """The keys a running head is told by: the whole line's (``_edge_key``), and for the page's first or last
    line (``outer``) of five words or more its first and its last ``AFFIX_WORDS`` words' (``^…``, ``$…``): a
    head that names the section and the chapter changes with the section but keeps the chapter. Pure."""
    key = _edge_key(line)
    words = key.split()
    if not outer or len(words) < AFFIX_WORDS + 2:
        return [key]
    affixes = ("^" + " ".join(words[:AFFIX_WORDS]), "$" + " ".join(words[-AFFIX_WORDS:]))
    return [key, *(affix for affix in affixes if has_words(affix))]  # not a contents line's leader dots ". . #"


def _edges(lines: list[str]) -> list[tuple[int, bool]]:
    """Indexes of the first and last ``EDGE_LINES`` non-empty lines, each with whether it is the very first or
    last. Pure."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edges = filled if len(filled) <= 2 * EDGE_LINES else filled[:EDGE_LINES] + filled[-EDGE_LINES:]
    return [(i, i in (filled[0], filled[-1])) for i in edges]


def _has_run(pages: list[int], length: int = RUN_PAGES) -> bool:
    """Whether ``length`` of these page indexes (ascending) follow one another, one page between them at
    most (a chapter's head on its odd pages, the book's title on the even ones). Pure."""
    run = 1
    for before, after in pairwise(pages):
        run = run + 1 if after - before <= 2 else 1
        if run >= length:
            return True
    return False


def running_keys(pages: list[str]) -> frozenset[str]:
    """The running heads and feet of a document (its title, "Confidential", "Page 3 of 10", a page number, a
    chapter's title over its pages): lines at the top or bottom of at least ``RUNNING_SHARE`` of the pages, or
    of ``RUN_PAGES`` pages in a row (every other page counts as a row); 3 pages at least. A long line whose
    first or last words alone repeat so (``_edge_keys``) needs ``AFFIX_RUN`` pages in a row. Pure."""
    if len(pages) < 3:
        return frozenset()
    where: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(pages):
        lines = text.split("\n")
        for key in {key for i, outer in _edges(lines) for key in _edge_keys(lines[i], outer)}:
            where[key].append(index)
    need = max(3, math.ceil(RUNNING_SHARE * len(pages)))
    return frozenset(
        key
        for key, at in where.items()
        if key and (len(at) >= need or _has_run(at, AFFIX_RUN if key[0] in "^$" else RUN_PAGES))
    )


def without_running(text: str, keys: frozenset[str], kept: set[str]) -> str:
    """A page's text without its running heads and feet, each kept the first time it is met (``kept``), so its
    words stay findable once; repeated on every page they only crowd the chunks and the answers. Pure but for
    ``kept``."""
    if not keys:
        return text
    lines = text.split("\n")
    drop = set()
    for i, outer in _edges(lines):
        found = [key for key in _edge_keys(lines[i], outer) if key in keys]
        if found:
            if any(key in kept for key in found):
                drop.add(i)
            kept.update(found)
    return "\n".join(line for i, line in enumerate(lines) if i not in drop).strip() if drop else text


def pick_caption(below: str, above: str, page_text: str, limit: int = 400) -> str:
    """The figure's caption: a 'Figure N' line near it wins, then text just below, then above,
    then the start of the page text. Pure."""
    for band in (below, above):
        for line in band.splitlines():
            if _CAPTION.match(line):
                i = band.index(line)
                return " ".join(band[i:].split())[:limit]
    for band in (below, above, page_text):
        words = " ".join(band.split())
        if len(words) >= 3:
            return words[:limit]
    return ""


def _render(page: Any, scale: float) -> Any:
    w, h = page.get_size()
    scale = min(scale, MAX_RENDER_SIDE / max(w, h, 1.0))
    return to_rgb(page.render(scale=scale).to_pil())


def _shrink(img: Any) -> Any:
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    return img


def _fingerprint(img: Any) -> str:
    small = np.asarray(img.convert("L").resize((16, 16)), dtype=np.uint8) // 16
    return hashlib.blake2b(small.tobytes() + repr(img.size).encode(), digest_size=8).hexdigest()


@dataclass
class _Reading:
    """What reading one PDF carries from page to page (one per ``load``, changed as its pages are read)."""

    source: str
    words: str  # the file name's words (a figure with no caption is found by them)
    title: str = ""
    running: frozenset[str] = frozenset()  # running heads and feet (``running_keys``)
    kept: set[str] = field(default_factory=set)  # the running heads met, kept on their first page
    seen: set[str] = field(default_factory=set)  # the figures' fingerprints: a logo on every page once
    figures: int = 0
    tables: int = 0
    trail: Trail = ()  # the headings in force where the next page starts


class PdfLoader:
    """Loader for the ``pdf`` kind."""

    kinds: tuple[str, ...] = ("pdf",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        check_file(path, config.max_file_mb)
        pdfium = _pdfium()
        with _lock:
            try:
                doc = pdfium.PdfDocument(str(path))
            except pdfium.PdfiumError as exc:
                msg = str(exc).lower()
                if "password" in msg or "security" in msg:
                    raise IngestError(
                        source,
                        "is password-protected or encrypted; save a decrypted copy (e.g. qpdf --decrypt) and add that",
                    ) from None
                raise IngestError(
                    source, f"not a readable PDF ({exc}); it may be truncated or corrupt"
                ) from None
            n_pages = len(doc)
        if n_pages == 0:
            doc.close()
            raise IngestError(source, "the PDF has no pages")
        try:
            read = self._pages_text(doc, n_pages)  # read once, for the heads and the pages
            # a table of contents or an index is read as its lines, and its type says nothing of the titles
            contents = [r is not None and is_contents_page(r[0].split("\n")) for r in read]
            for index in range(n_pages):  # the contents' first or last page, with a few lines of it
                r = read[index]
                if r is not None and not contents[index] and any(contents[max(0, index - 1) : index + 2]):
                    contents[index] = is_contents_page(r[0].split("\n"), continues=True)
            pages = [r[1] for r, listed in zip(read, contents, strict=True) if r is not None and not listed]
            style = body_style(pages)
            levels = heading_levels(pages, style) if style else {}
            texts = [None if r is None else (r[0], r[0] if listed else clean_text(page_markdown(r[1], style, levels)))
                     for r, listed in zip(read, contents, strict=True)]
            with _lock:
                try:
                    metadata = doc.get_metadata_dict()
                except pdfium.PdfiumError:  # a damaged information dictionary: no title from it
                    metadata = {}
            name_words = filename_words(path.name)
            title = document_title(str(metadata.get("Title") or ""), texts[0][1] if texts[0] and not contents[0] else "",
                                   name_words)
            reading = _Reading(source, name_words, title,
                               running_keys([marked for _, marked in filter(None, texts)]))
            for index in range(n_pages):
                with _lock:
                    try:
                        segs = self._page(doc, index, config, reading, texts[index], contents[index])
                    except pdfium.PdfiumError as exc:
                        log.warning("%s: page %d skipped: %s", source, index + 1, exc)
                        continue
                yield from segs
        finally:
            with _lock:
                doc.close()

    def _page(
        self,
        doc: Any,
        index: int,
        config: IngestConfig,
        reading: _Reading,
        page_text: tuple[str, str] | None = None,
        contents: bool = False,
    ) -> list[Segment]:
        import pypdfium2.raw as pdfium_c

        pno = index + 1
        page = doc[index]
        try:
            textpage = page.get_textpage()
            if page_text is None:  # read alone (no first pass): no headings marked
                page_text = (clean_text(textpage.get_text_range()),) * 2
            text, marked = page_text
            body = without_running(marked, reading.running, reading.kept)  # what the chunks hold: headings marked, no running heads
            page_w, page_h = page.get_size()
            has_layer = len(text) >= MIN_TEXT_CHARS
            view = _render(page, config.pdf_render_dpi / 72.0)
            thumb = make_thumbnail(view, config.thumbnail_px)
            out: list[Segment] = []
            meta: dict[str, str] = {"contents": "yes"} if contents else {}
            if reading.title:  # the document's title, as other readers give it (the answer reads its words)
                meta["title"] = reading.title
            ocr_done = False
            if not has_layer and config.ocr:  # little text: maybe a scan; if OCR finds no more, its few words are its text
                ocr = self._ocr(page)
                if len(ocr) >= MIN_TEXT_CHARS:
                    text, ocr_done = ocr, True
                    meta["ocr"] = "yes"
            short = not has_layer and not ocr_done and has_words(text)  # "Annual Report 2024", "test example"
            if ocr_done or not has_words(body):  # a scan's words; or a page of nothing but its running heads
                body = text if ocr_done or short else ""
            # aligned tables, also as rows with their header (ingest/tables.py); a header set bold is no title
            tables = pdf_tables(textpage) if (has_layer or short) and not contents else []
            body = plain_table_headers(body, (table.header for table in tables))
            body = tables_as_rows(body, (table.lines for table in tables))  # a row a line, not run into the prose
            if has_layer or ocr_done or short:
                chunks = chunk_text(body, config.chunk_words, config.chunk_overlap)
                marks = headings(body)  # read once: for the chunks' sections and for the next page's
                for k, (chunk, trail) in enumerate(sectioned(marks, chunks, reading.trail)):
                    section = "" if contents else trail_words(trail, reading.title)  # a contents page is in no section
                    out.append(
                        Segment(
                            source=reading.source,
                            modality=Modality.TEXT,
                            span=Span(page=pno, start=chunk.start, end=chunk.end),
                            text=chunk.text,
                            thumbnail=thumb if k == 0 else None,
                            meta={**meta, "section": section} if section else dict(meta),
                        )
                    )
                reading.trail = trail_after(marks, reading.trail)  # a section goes on over the page
            n_images = 0
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
                n_images += 1
                fig = self._figure(obj, page, textpage, text, config, (page_w, page_h), ocr_done)
                if fig is None:
                    continue
                img, caption = fig
                key = _fingerprint(img)
                if key in reading.seen:
                    continue
                reading.seen.add(key)
                reading.figures += 1
                k = reading.figures
                out.append(
                    Segment(
                        source=reading.source,
                        modality=Modality.IMAGE,
                        span=Span(page=pno),
                        text=caption or f"figure {k} {reading.words}".strip(),
                        image=_shrink(img),
                        thumbnail=make_thumbnail(img, config.thumbnail_px),
                        meta={"figure": str(k), "part": f"fig-{k}"},
                    )
                )
            if n_images == 0 and not (has_layer or ocr_done) and self._has_drawing(page, view):  # a chart, a poster
                out.append(
                    Segment(
                        source=reading.source,
                        modality=Modality.IMAGE,
                        span=Span(page=pno),
                        text=" ".join(text.split())[:400] or f"page {pno} {reading.words}".strip(),
                        image=_shrink(_render(page, 2.0)),
                        thumbnail=thumb,
                        meta={"figure": "page", "part": "page"},
                    )
                )
            out.extend(table_segments(reading.source, tables, page=pno, first_number=reading.tables + 1))
            reading.tables += len(tables)
            textpage.close()
            return out
        finally:
            page.close()

    @classmethod
    def _pages_text(cls, doc: Any, n_pages: int) -> list[tuple[str, list[PdfLine]] | None]:
        """Each page's ``_page_text``, its spaces mended (``pdf_layout.respaced``) while its first
        ``CHECK_PAGES`` pages with text need it, or any did: a producer that leaves spaces out does so on every
        page, and one that does not is read without measuring each character."""
        out: list[tuple[str, list[PdfLine]] | None] = []
        checked = mended = 0
        for index in range(n_pages):
            respace = mended > 0 or checked < CHECK_PAGES
            read = cls._page_text(doc, index, respace)
            out.append(read if read is None else read[:2])
            if respace and read is not None and read[0].strip():
                checked += 1
                mended += read[2]
        return out

    @staticmethod
    def _page_text(doc: Any, index: int, respace: bool = True) -> tuple[str, list[PdfLine], bool] | None:
        """A page's text and its lines with their type (the first pass, for the running heads and the
        document's body and title sizes), and whether a space was mended (``respace``); ``None`` for a page
        pdfium cannot read (``_page`` tries it again and reports it)."""
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        with _lock:
            try:
                page = doc[index]
                try:
                    textpage = page.get_textpage()
                    raw = textpage.get_text_range()
                    lines = read_lines(textpage, raw, pdfium_c, respace)
                    textpage.close()
                    text = "\r\n".join(line.text for line in lines)
                    return clean_text(text), lines, text != raw
                finally:
                    page.close()
            except pdfium.PdfiumError:
                return None

    def _ocr(self, page: Any) -> str:
        try:
            from mmrag.ingest.ocr import ocr_text
        except ImportError:  # pragma: no cover - the OCR module or its engine is missing
            return ""
        try:
            return clean_text(ocr_text(_render(page, OCR_SCALE)))
        except MissingDependency:
            log.warning("OCR is not available (rapidocr-onnxruntime missing); scanned pages stay unindexed")
            return ""

    def _figure(
        self,
        obj: Any,
        page: Any,
        textpage: Any,
        page_text: str,
        config: IngestConfig,
        page_size: tuple[float, float],
        ocr_done: bool,
    ) -> tuple[Any, str] | None:
        pdfium = _pdfium()
        try:
            px_w, px_h = obj.get_px_size()
        except (pdfium.PdfiumError, AttributeError):
            return None
        if min(px_w, px_h) < config.pdf_min_figure_px:
            return None
        left, bottom, right, top = obj.get_bounds()
        area = max(0.0, right - left) * max(0.0, top - bottom)
        if ocr_done and area >= 0.5 * page_size[0] * page_size[1]:
            return None  # the scan of a page whose text was OCR'd
        if max(px_w, px_h) > 8000 or px_w * px_h > config.max_image_pixels:
            log.warning("figure of %dx%d px skipped (too large)", px_w, px_h)
            return None
        try:
            img = obj.get_bitmap(render=True).to_pil()
        except pdfium.PdfiumError:
            try:
                img = obj.get_bitmap(render=False).to_pil()
            except pdfium.PdfiumError:
                return None
        img = to_rgb(img)
        if img.width < 2 or img.height < 2:
            return None
        below = clean_text(textpage.get_text_bounded(left, max(0.0, bottom - CAPTION_BAND), right, bottom))
        above = clean_text(textpage.get_text_bounded(left, top, right, min(page_size[1], top + CAPTION_BAND)))
        return img, pick_caption(below, above, page_text)

    def _has_drawing(self, page: Any, view: Any) -> bool:
        import pypdfium2.raw as pdfium_c

        paths = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=4))
        return paths > 0 and float(np.asarray(view.convert("L"), dtype=np.float32).std()) > 2.0


__all__ = ["PdfLoader", "clean_text", "pick_caption"]
