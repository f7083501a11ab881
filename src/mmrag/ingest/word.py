"""Word documents (``.docx``): the text in reading order, its tables as rows, its pictures.

Read with python-docx (MIT). A ``.docx`` has no pages until a word processor lays it out, so a
hit says where by characters, as a text file does.

- **Text**: body paragraphs and tables in document order. Headings (styles "Title", "Heading N")
  become Markdown headings (``## Revenue``), so the chunker, the title and ``ask`` see them as a
  Markdown file's; list paragraphs become ``- item``; a table is written row by row
  (``Region | Revenue``) where it stands. Chunked like any text (``ingest.chunk_words``).
- **Tables** also become one segment per data row with typed fields named after the header
  (``ingest/tables.py``), as in PDFs and HTML pages: ``--where "revenue > 1000000"`` works.
- **Pictures** (inline drawings) become image segments through the image tower, with a caption:
  a "Figure N" line next to the picture and its alt text, else its alt text and the paragraph
  just below (or above) it (``meta.figure`` = N; ``office.document_segments``). Icons under 32 px and EMF/WMF vector art are left out.
- **Text boxes** (a flyer's call-out, a form's fields) are read after the paragraph they are anchored to
  (Word writes each twice, as a drawing and as a VML fallback: the fallback is skipped). **Footnotes and
  endnotes** come at the end under ``## Footnotes`` / ``## Endnotes``, **reviewers' comments** under
  ``## Comments`` (``- Ana Silva: check this figure``), **page headers and footers** (each distinct one once,
  page numbers left out) under ``## Page headers and footers``, so their words are found without breaking
  the body's reading order.
- The title is the document's own (``File > Properties``), else its first heading.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import (
    DocumentParts,
    add_table,
    alt_words,
    cell_text,
    comment_line,
    document_segments,
    has_words,
    prepare,
    require,
    section,
)
from mmrag.ingest.tables import Table
from mmrag.markdown import literal
from mmrag.types import Segment

log = logging.getLogger(__name__)
_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_NOTE_PARTS = (("/word/footnotes.xml", "footnote", "Footnotes"), ("/word/endnotes.xml", "endnote", "Endnotes"))


def heading_level(style_name: str) -> int:
    """``"Title"`` -> 1, ``"Heading 2"`` -> 2, anything else -> 0. Pure."""
    name = style_name.strip()
    if name.lower() == "title":
        return 1
    m = _HEADING.match(name)
    return min(6, int(m.group(1))) if m else 0


def _style_name(paragraph: Any) -> str:
    try:
        return str(paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, AttributeError):  # a style id the styles part does not define
        return ""


def _pictures(paragraph: Any) -> list[tuple[bytes, str]]:
    """``(bytes, alt text)`` of each picture drawn in the paragraph."""
    out: list[tuple[bytes, str]] = []
    for drawing in paragraph._p.xpath(".//w:drawing"):
        alt = alt_words(" ".join(str(x) for x in drawing.xpath(".//wp:docPr/@descr | .//wp:docPr/@title")))
        for rid in drawing.xpath(".//a:blip/@r:embed"):
            part = paragraph.part.related_parts.get(str(rid))
            blob = getattr(part, "blob", None)
            if blob:
                out.append((bytes(blob), alt))
    return out


def _paragraph_text(p: Any, parent: Any) -> str:
    from docx.text.paragraph import Paragraph

    return " ".join(Paragraph(p, parent).text.split())


def _text_boxes(paragraph: Any) -> list[str]:
    """The words of the text boxes anchored to ``paragraph``, a box paragraph a line, each box once."""
    out: list[str] = []
    for box in paragraph._p.iter(_W + "txbxContent"):
        if any(a.tag == _MC_FALLBACK for a in box.iterancestors()):  # the VML copy of a box drawn above
            continue
        out.extend(t for p in box.iterchildren(_W + "p") if (t := _paragraph_text(p, paragraph._parent)))
    return out


def _notes(document: Any) -> list[str]:
    """Footnotes and endnotes, as ``## Footnotes`` + one ``- note`` line each (separators left out)."""
    from docx.oxml.parser import parse_xml

    lines: list[str] = []
    parts = {str(part.partname): part for part in document.part.package.iter_parts()}
    for partname, tag, heading in _NOTE_PARTS:
        part = parts.get(partname)
        if part is None:
            continue
        try:
            root = parse_xml(part.blob)
        except Exception as exc:  # noqa: BLE001 - a damaged notes part loses the notes, not the document
            log.warning("%s skipped: %s: %s", partname, type(exc).__name__, exc)
            continue
        notes = []
        for note in root.iterchildren(_W + tag):
            if note.get(_W + "type") not in (None, "normal"):  # separator, continuation separator/notice
                continue
            notes.append(" ".join(t for p in note.iter(_W + "p") if (t := _paragraph_text(p, document.part))))
        lines += section(heading, notes, bullet=True)
    return lines


def _comments(document: Any) -> list[str]:
    """Reviewers' comments as ``## Comments`` + one ``- Author: text`` line each (python-docx >= 1.2)."""
    try:
        comments = list(document.comments)
    except Exception as exc:  # noqa: BLE001 - an older python-docx (no .comments) or a damaged comments part
        log.debug("comments not read: %s: %s", type(exc).__name__, exc)
        return []
    said = ((" ".join(str(c.author or "").split()), " ".join(str(c.text or "").split())) for c in comments)
    return section("Comments", (comment_line(author, text) for author, text in said if text), bullet=True)


def _headers_and_footers(document: Any) -> list[str]:
    """Each distinct page header and footer line once (first-page and even-page ones too)."""
    seen: dict[str, None] = {}
    for part_of in document.sections:
        for name in ("header", "footer", "first_page_header", "first_page_footer", "even_page_header", "even_page_footer"):
            try:
                part = getattr(part_of, name)
                if part.is_linked_to_previous:  # the previous section's, read already (or none at all)
                    continue
                texts = [" ".join(p.text.split()) for p in part.paragraphs]
                texts += [cell_text(c.text) for t in part.tables for row in t.rows for c in row.cells]
            except Exception as exc:  # noqa: BLE001 - a damaged header part loses that header only
                log.warning("a page %s skipped: %s: %s", name.replace("_", " "), type(exc).__name__, exc)
                continue
            seen.update((t, None) for t in texts if has_words(t))
    return section("Page headers and footers", seen)


class WordLoader:
    """Loader for the ``docx`` kind."""

    kinds: tuple[str, ...] = ("docx",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        require("docx", "python-docx", "Word documents (.docx)")
        prepare(path, config, "Word document")
        import docx
        from docx.table import Table as DocxTable

        try:
            document = docx.Document(str(path))
            blocks = list(document.iter_inner_content())
        except Exception as exc:  # noqa: BLE001 - python-docx raises many types for damaged parts
            raise IngestError(source, f"not a readable Word document ({type(exc).__name__}: {exc}); open and save it again") from None
        lines: list[str] = []  # one paragraph (or table row) a line, blank lines between blocks
        tables: list[Table] = []
        pictures: list[tuple[bytes, str, int]] = []  # bytes, alt text, index into lines where it stands
        first_heading = ""
        for block in blocks:
            if isinstance(block, DocxTable):
                add_table([[cell_text(c.text) for c in row.cells] for row in block.rows], lines, tables)
                continue
            pictures.extend((blob, alt, len(lines)) for blob, alt in _pictures(block))
            text = " ".join(block.text.split())
            if text:
                level = heading_level(_style_name(block))
                if level:
                    first_heading = first_heading or text
                    text = "#" * level + " " + text
                elif _style_name(block).lower().startswith("list"):
                    text = "- " + text
                else:
                    text = literal(text)  # "# of guests: 12" is no heading
                lines += [text, ""]
            for box_line in _text_boxes(block):
                lines += [literal(box_line), ""]
        lines += _notes(document) + _comments(document) + _headers_and_footers(document)
        title = " ".join(str(getattr(document.core_properties, "title", "") or "").split()) or first_heading
        yield from document_segments(path, DocumentParts(lines, tables, pictures, title), "docx", config)


__all__ = ["WordLoader", "heading_level"]
