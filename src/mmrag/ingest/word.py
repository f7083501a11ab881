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
- The title is the document's own (``File > Properties``), else its first heading.
"""

from __future__ import annotations

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
    document_segments,
    prepare,
    require,
)
from mmrag.ingest.tables import Table
from mmrag.types import Segment

_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


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
            if not text:
                continue
            level = heading_level(_style_name(block))
            if level:
                first_heading = first_heading or text
                text = "#" * level + " " + text
            elif _style_name(block).lower().startswith("list"):
                text = "- " + text
            lines.append(text)
            lines.append("")
        title = " ".join(str(getattr(document.core_properties, "title", "") or "").split()) or first_heading
        yield from document_segments(path, DocumentParts(lines, tables, pictures, title), "docx", config)


__all__ = ["WordLoader", "heading_level"]
