"""OpenDocument text (``.odt``) and presentations (``.odp``): LibreOffice's and many offices' own formats.

An OpenDocument file is a ZIP package whose ``content.xml`` holds the words and whose
``Pictures/`` hold the pictures. It is read with defusedxml (safe against entity expansion),
no office suite needed, into the same parts as a Word document or a PowerPoint deck
(``office.DocumentParts`` / ``SlideParts``), so a hit, a caption and a citation read the same:

- **text** (``.odt``): headings (``text:h``, by outline level) as Markdown headings, paragraphs,
  list items as ``- item``, tables row by row where they stand and also as typed rows, pictures
  (``draw:image``) with their alt text (``svg:title``/``svg:desc``) and the paragraph beside them;
  footnotes and endnotes at the end under ``## Footnotes`` / ``## Endnotes``, reviewers' comments under
  ``## Comments``, as in a Word document;
- **presentations** (``.odp``): one slide per ``draw:page``; the title frame first, then every text
  frame, table and picture in reading order, then the speaker notes.

A **flat** OpenDocument file (``.fodt``, ``.fodp``: the same XML in one file, pictures inside it as
base64, as LibreOffice writes for version control) is read the same way.

A text document's page headers and footers (its master pages, in ``styles.xml``) come last, under
``## Page headers and footers``, each distinct paragraph once, as for Word. An embedded **chart** (a
sub-document, ``Object 1/content.xml``) is written as words where it stands, as for ``.pptx``: ``Chart:
title``, then each series' values by category from the chart's own data table (``Sales: Q1 8.2, Q2 3.2``).
Other embedded objects (formulas) are not read.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import (
    DocumentParts,
    SlideParts,
    add_table,
    alt_words,
    cell_text,
    chart_words,
    comment_line,
    deck_segments,
    document_segments,
    has_words,
    prepare,
    section,
)
from mmrag.ingest.sniffing import ZIP_ERRORS
from mmrag.ingest.tables import Table
from mmrag.markdown import literal
from mmrag.types import Segment

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "dc": "http://purl.org/dc/elements/1.1/",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "chart": "urn:oasis:names:tc:opendocument:xmlns:chart:1.0",
}
_PAGE_PARTS = ("header", "footer", "header-left", "footer-left", "header-first", "footer-first")
MAX_PICTURE_MB = 50  # a picture part larger than this is left out
MAX_NESTING = 100  # lists, sections and spans nested deeper than this are not read (no office suite writes them)


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


_PARAGRAPHS = (_q("text:p"), _q("text:h"))
_SKIP_TEXT = frozenset({_q("svg:title"), _q("svg:desc"), _q("text:note"), _q("office:annotation"), _q("draw:frame")})
# a header's page number, page count, date and time: the values at the last save, on every page: not words
_PAGE_FIELDS = frozenset({_q("text:page-number"), _q("text:page-count"), _q("text:date"), _q("text:time")})


def inline_text(element: Any, skip: frozenset[str] = _SKIP_TEXT) -> str:
    """The words of a paragraph or heading: spans joined, ``text:s`` as spaces, tabs and line breaks as
    one space; alt texts, footnotes, comments and frames inside it (the elements in ``skip``) left out (pure)."""
    out: list[str] = []

    def walk(el: Any, depth: int) -> None:
        if el.text:
            out.append(el.text)
        for child in el:
            if child.tag == _q("text:s"):
                out.append(" " * min(int(child.get(_q("text:c"), "1") or 1), 100))
            elif child.tag in (_q("text:tab"), _q("text:line-break")):
                out.append(" ")
            elif child.tag not in skip and depth < MAX_NESTING:
                walk(child, depth + 1)
            if child.tail:
                out.append(child.tail)

    walk(element, 0)
    return " ".join("".join(out).split())


def _table_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.iter(_q("table:table-row")):
        cells = [cell_text(" ".join(inline_text(p) for p in cell.iter(_q("text:p"))))
                 for cell in row if cell.tag in (_q("table:table-cell"), _q("table:covered-table-cell"))]
        while cells and not cells[-1]:  # a spreadsheet-style row padded with empty cells
            cells.pop()
        if any(cells):
            rows.append(cells)
    return rows


class Pictures:
    """Where a document's pictures are: the parts of its ZIP package, or (a flat file) base64 inside the XML."""

    def __init__(self, package: zipfile.ZipFile | None = None) -> None:
        self.package = package

    def read(self, image: Any) -> bytes | None:
        """A ``draw:image``'s bytes; ``None`` when it links outside, is missing, damaged or over the size cap."""
        if self.package is None:
            data = image.find("office:binary-data", NS)
            raw = "".join((data.text or "").split()) if data is not None else ""
            if not raw or len(raw) * 3 // 4 > MAX_PICTURE_MB * 2**20:
                return None
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                return None
        href = image.get(_q("xlink:href"), "")
        if not href or "://" in href or href.startswith("/"):
            return None  # a linked picture outside the package
        try:
            info = self.package.getinfo(href.lstrip("./"))
            if info.file_size > MAX_PICTURE_MB * 2**20:
                return None
            return self.package.read(info)
        except ZIP_ERRORS:  # a damaged picture part: the rest of the document stays
            return None

    def sub_document(self, obj: Any) -> Any:
        """The content root of an embedded object (a chart, a formula): inside a flat file's ``draw:object``, or
        the package's ``Object 1/content.xml``; ``None`` when missing, too large or unreadable."""
        if self.package is None:
            return next((c for c in obj if c.tag in (_q("office:document"), _q("office:document-content"))), None)
        href = obj.get(_q("xlink:href"), "")
        if not href or "://" in href or href.startswith("/"):
            return None
        from defusedxml import ElementTree

        try:
            info = self.package.getinfo(href.lstrip("./").rstrip("/") + "/content.xml")
            if info.file_size > MAX_PICTURE_MB * 2**20:
                return None
            return ElementTree.fromstring(self.package.read(info))
        except Exception:  # noqa: BLE001 - a missing, damaged or hostile object: the rest of the document stays
            return None

    def close(self) -> None:
        if self.package is not None:
            self.package.close()


_CELL = re.compile(r"\$?([A-Z]{1,3})\$?(\d{1,7})")
MAX_CHART_CELLS = 100_000  # of a chart's own data table


def _cell_grid(table: Any) -> list[list[tuple[str, float | None]]]:
    """A chart's data table as rows of ``(text, number)`` cells (``None``: not a number), repeats expanded."""
    rows: list[list[tuple[str, float | None]]] = []
    count = 0
    for row in table.iter(_q("table:table-row")):
        cells: list[tuple[str, float | None]] = []
        for cell in row:
            if cell.tag not in (_q("table:table-cell"), _q("table:covered-table-cell")):
                continue
            text = " ".join(inline_text(p) for p in cell.findall("text:p", NS)).strip()
            value: float | None = None
            if cell.get(_q("office:value-type"), "") in ("float", "percentage", "currency"):
                try:
                    value = float(cell.get(_q("office:value"), "nan"))
                except ValueError:
                    value = None
                value = None if value is None or math.isnan(value) else value  # NaN: no value
            repeat = min(int(cell.get(_q("table:number-columns-repeated"), "1") or 1), 64)
            cells += [(text, value)] * repeat
            count += repeat
        rows.append(cells)
        if count > MAX_CHART_CELLS:
            break
    return rows


def _column(address: str) -> tuple[int, int, int] | None:
    """``local-table.$C$2:.$C$5`` -> ``(column 2, first row 1, last row 4)`` (0-based); ``None`` if not one."""
    found = _CELL.findall(address or "")
    if not found:
        return None
    col = 0
    for ch in found[0][0]:
        col = col * 26 + ord(ch) - 64
    first_row = int(found[0][1]) - 1
    return col - 1, first_row, int(found[-1][1]) - 1


def chart_lines(doc: Any) -> list[str]:
    """An embedded chart's words (``office.chart_words``): its title and subtitle, then each series' values by
    category, read from the chart's own data table by the cell ranges the chart names (pure)."""
    chart = doc.find("office:body/office:chart/chart:chart", NS) if doc is not None else None
    if chart is None:
        return []
    title = " ".join(inline_text(p) for part in ("chart:title", "chart:subtitle")
                     for p in chart.findall(f"{part}/text:p", NS)).strip()
    table = chart.find("table:table", NS)
    grid = _cell_grid(table) if table is not None else []

    def cell(col: int, row: int) -> tuple[str, float | None]:
        return grid[row][col] if 0 <= row < len(grid) and 0 <= col < len(grid[row]) else ("", None)

    axis = chart.find("chart:plot-area/chart:axis[@chart:dimension='x']/chart:categories", NS)
    span = _column(axis.get(_q("table:cell-range-address"), "")) if axis is not None else None
    categories = [cell(span[0], r)[0] for r in range(span[1], span[2] + 1)] if span else []
    series = []
    for s in chart.iter(_q("chart:series")):
        values = _column(s.get(_q("chart:values-cell-range-address"), ""))
        label = _column(s.get(_q("chart:label-cell-address"), ""))
        if values is None:
            continue
        name = cell(label[0], label[1])[0] if label else ""
        series.append((name, categories, [cell(values[0], r)[1] for r in range(values[1], min(values[2], values[1] + 999) + 1)]))
    return chart_words(title, series)


def _outside_objects(el: Any, tags: tuple[str, ...]) -> Iterator[Any]:
    """``el``'s descendants with one of ``tags``, not looking inside embedded objects (a flat file's chart)."""
    for child in el:
        if child.tag == _q("draw:object"):
            continue
        if child.tag in tags:
            yield child
        yield from _outside_objects(child, tags)


def _frame_objects(frame: Any, store: Pictures) -> list[str]:
    """The words of the embedded objects a frame shows (charts)."""
    return [line for obj in frame.findall("draw:object", NS) for line in chart_lines(store.sub_document(obj))]


def _frame_pictures(frame: Any, pictures: Pictures) -> list[tuple[bytes, str]]:
    """``(bytes, alt text)`` of the pictures a ``draw:frame`` shows (its first readable image)."""
    alt = alt_words(" ".join(" ".join(e.itertext()) for e in frame if e.tag in (_q("svg:title"), _q("svg:desc"))))
    for image in frame.iter(_q("draw:image")):
        blob = pictures.read(image)
        if blob is not None:
            return [(blob, alt)]
    return []


def _refused(source: str, part: str, exc: Exception) -> IngestError:
    return IngestError(source, f"refused: its {part} declares entities or external references ({type(exc).__name__}), "
                               f"a known attack on XML readers; a file saved by an office suite has none")


def _title(meta: Any) -> str:
    found = meta.find(".//dc:title", NS) if meta is not None else None
    return " ".join((found.text or "").split()) if found is not None else ""


def _content(path: Path, config: IngestConfig, what: str) -> tuple[Pictures, Any, str, Any]:
    """Where the pictures are, the parsed content root (``content.xml``'s, or a flat file's whole document), the
    document's title (``meta.xml``, or the flat file's ``office:meta``) and its styles root (``styles.xml``'s, or
    the flat file's document; ``None`` when missing or unreadable)."""
    source = str(path)
    from defusedxml import DefusedXmlException, ElementTree

    if not zipfile.is_zipfile(path):  # a flat OpenDocument file: one XML document
        prepare(path, config, what, package=False)
        try:
            root = ElementTree.fromstring(path.read_bytes())
        except DefusedXmlException as exc:
            raise _refused(source, "XML", exc) from None
        except Exception as exc:  # noqa: BLE001 - malformed or hostile XML
            raise IngestError(source, f"not a readable flat {what} ({type(exc).__name__}: {exc}); open and save it again") from None
        if root.tag != _q("office:document"):
            raise IngestError(source, f"not a {what}: its XML is not an OpenDocument (no office:document root)")
        return Pictures(), root, _title(root.find("office:meta", NS)), root
    prepare(path, config, what)
    package = zipfile.ZipFile(path)
    try:
        root = ElementTree.fromstring(package.read("content.xml"))
    except DefusedXmlException as exc:
        package.close()
        raise _refused(source, "content.xml", exc) from None
    except KeyError:
        package.close()
        raise IngestError(source, f"not a readable {what}: it has no content.xml; open and save it again") from None
    except Exception as exc:  # noqa: BLE001 - malformed or hostile XML (defusedxml refuses entity tricks)
        package.close()
        raise IngestError(source, f"not a readable {what} ({type(exc).__name__}: {exc}); open and save it again") from None
    title = ""
    try:
        title = _title(ElementTree.fromstring(package.read("meta.xml")))
    except Exception:  # noqa: BLE001 - meta.xml is optional
        title = ""
    styles = None
    try:
        info = package.getinfo("styles.xml")
        if info.file_size <= MAX_PICTURE_MB * 2**20:
            styles = ElementTree.fromstring(package.read(info))
    except Exception:  # noqa: BLE001 - styles.xml is optional; a hostile one is not read (defusedxml refuses it)
        styles = None
    return Pictures(package), root, title, styles


def page_headers(styles: Any) -> list[str]:
    """The words of every page header and footer the master pages define (``office:master-styles`` in
    ``styles.xml``, or in a flat file's one document), each distinct paragraph once, page numbers, counts, dates and
    times left out (pure)."""
    found: dict[str, None] = {}
    masters = styles.find("office:master-styles", NS) if styles is not None else None
    for page in masters.findall("style:master-page", NS) if masters is not None else []:
        for part in _PAGE_PARTS:
            for area in page.findall(f"style:{part}", NS):
                for para in area.iter():
                    if para.tag in (_q("text:p"), _q("text:h")):
                        text = inline_text(para, _SKIP_TEXT | _PAGE_FIELDS)
                        if has_words(text):
                            found.setdefault(text, None)
    return list(found)


def text_parts(root: Any, store: Pictures, title: str, headers: list[str] | None = None) -> DocumentParts:
    """A text document's lines, tables and pictures in reading order; ``headers`` (``page_headers``) last."""
    lines: list[str] = []
    tables: list[Table] = []
    pictures: list[tuple[bytes, str, int]] = []
    first_heading = ""

    def block(el: Any, list_depth: int = 0, depth: int = 0) -> None:
        nonlocal first_heading
        if depth > MAX_NESTING:
            return
        if el.tag == _q("table:table"):
            add_table(_table_rows(el), lines, tables)
            return
        if el.tag in (_q("text:list"), _q("text:list-item"), _q("text:section"), _q("text:list-header")):
            for child in el:
                block(child, list_depth + (el.tag == _q("text:list")), depth + 1)
            return
        if el.tag not in (_q("text:p"), _q("text:h")):
            return
        for frame in el.iter(_q("draw:frame")):
            pictures.extend((blob, alt, len(lines)) for blob, alt in _frame_pictures(frame, store))
            charted = _frame_objects(frame, store)
            if charted:
                lines.extend([*charted, ""])
            for box in frame.iter(_q("draw:text-box")):  # a text box's own paragraphs
                for child in box:
                    block(child, list_depth, depth + 1)
        text = inline_text(el)
        if not text:
            return
        if el.tag == _q("text:h"):
            level = max(1, min(6, int(el.get(_q("text:outline-level"), "1") or 1)))
            first_heading = first_heading or text
            text = "#" * level + " " + text
        elif list_depth:
            text = "- " + text
        else:
            text = literal(text)  # "# of guests: 12" is no heading
        lines.append(text)
        lines.append("")

    body = root.find("office:body/office:text", NS)
    for child in body if body is not None else []:
        block(child)
    if body is not None:
        lines += _notes(body) + _comments(body)
    lines += section("Page headers and footers", headers or [])
    return DocumentParts(lines, tables, pictures, title or first_heading)


def _comments(body: Any) -> list[str]:
    """Reviewers' comments (``office:annotation``, left out of their paragraphs' text) at the end under
    ``## Comments``, one ``- Author: text`` paragraph each, as Word's are (pure)."""
    lines: list[str] = []
    for note in body.iter(_q("office:annotation")):
        creator = note.find("dc:creator", NS)
        author = " ".join("".join(creator.itertext()).split()) if creator is not None else ""
        text = " ".join(t for t in (inline_text(p) for p in note.iter() if p.tag in _PARAGRAPHS) if t)
        if text:
            lines.append(comment_line(author, text))
    return section("Comments", lines, bullet=True)


def _notes(body: Any) -> list[str]:
    """Footnotes and endnotes (left out of their paragraphs' text) at the end, under ``## Footnotes`` /
    ``## Endnotes``, one ``- note`` paragraph each, as Word's are (pure)."""
    found: dict[str, list[str]] = {"footnote": [], "endnote": []}
    for note in body.iter(_q("text:note")):
        kind = note.get(_q("text:note-class"), "footnote")
        note_body = note.find("text:note-body", NS)
        if note_body is None or kind not in found:
            continue
        found[kind].append(" ".join(t for t in (inline_text(p) for p in note_body.iter() if p.tag in _PARAGRAPHS) if t))
    return section("Footnotes", found["footnote"], bullet=True) + section("Endnotes", found["endnote"], bullet=True)


def slide_parts(page: Any, store: Pictures) -> SlideParts:
    """One ``draw:page``: its title frame, its other frames in reading order, its notes."""
    title = ""
    lines: list[str] = []
    tables: list[Table] = []
    pictures: list[tuple[bytes, str]] = []
    frames = [el for el in page if el.tag in (_q("draw:frame"), _q("draw:custom-shape"), _q("draw:g"))]
    for frame in sorted(frames, key=_position):
        kind = frame.get(_q("presentation:class"), "")
        texts = [inline_text(p) for p in _outside_objects(frame, (_q("text:p"), _q("text:h")))]
        texts = [t for t in texts if t]
        if kind == "title" and not title and texts:
            title = " ".join(texts)
            continue
        frame_tables = list(_outside_objects(frame, (_q("table:table"),)))
        for table in frame_tables:
            add_table(_table_rows(table), lines, tables, title, gap=False)
        if not frame_tables:
            lines.extend(texts)
        lines.extend(_frame_objects(frame, store))
        pictures.extend(_frame_pictures(frame, store))
    notes = page.find("presentation:notes", NS)
    if notes is not None:
        said = " ".join(t for t in (inline_text(p) for p in notes.iter(_q("text:p"))) if t)
        if said:
            lines.append(f"Notes: {said}")
    return SlideParts(title, lines, tables, pictures)


def _position(frame: Any) -> tuple[int, float, float]:
    """Reading order: top to bottom (rows a tenth of an inch apart), then left to right; unplaced last."""
    y, x = _length(frame.get(_q("svg:y"))), _length(frame.get(_q("svg:x")))
    if y is None or x is None:
        return (1, 0.0, 0.0)
    return (0, float(int(y * 10)), x)


def _length(value: str | None) -> float | None:
    """``"2.5cm"`` / ``"1in"`` / ``"72pt"`` -> inches; ``None`` when absent or unreadable."""
    if not value:
        return None
    units = {"in": 1.0, "cm": 1 / 2.54, "mm": 1 / 25.4, "pt": 1 / 72, "pc": 1 / 6, "px": 1 / 96}
    for unit, scale in units.items():
        if value.endswith(unit):
            try:
                return float(value[: -len(unit)]) * scale
            except ValueError:
                return None
    return None


class OdtLoader:
    """Loader for the ``odt`` kind."""

    kinds: tuple[str, ...] = ("odt",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        pictures, root, title, styles = _content(path, config, "OpenDocument text")
        try:
            parts = text_parts(root, pictures, title, page_headers(styles))
        finally:
            pictures.close()
        yield from document_segments(path, parts, "odt", config)


class OdpLoader:
    """Loader for the ``odp`` kind."""

    kinds: tuple[str, ...] = ("odp",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        pictures, root, title, _styles = _content(path, config, "OpenDocument presentation")
        try:
            body = root.find("office:body/office:presentation", NS)
            slides = [slide_parts(page, pictures) for page in (body.findall("draw:page", NS) if body is not None else [])]
        finally:
            pictures.close()
        yield from deck_segments(path, slides, "odp", title, config)


__all__ = ["OdpLoader", "OdtLoader", "Pictures", "chart_lines", "inline_text", "page_headers", "slide_parts", "text_parts"]
