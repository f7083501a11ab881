"""PowerPoint decks (``.pptx``): each slide's words and pictures, found by slide number.

Read with python-pptx (MIT). A hit reads ``deck.pptx slide 7`` (``meta.page_unit`` = ``slide``;
``span.page`` is the slide number, so ``--where "page = 7"`` works as for a PDF).

- **Text**: per slide, its title first, then every other text box, placeholder and table in
  reading order (top to bottom, left to right; shapes inside groups too), then the speaker
  notes (``Notes: ...``). Chunked like any text when a slide is long; the title is
  ``meta.slide_title``.
- **Tables** also become one segment per data row with typed fields (``ingest/tables.py``).
- **Charts** are written as words: the title, then each series with its values by category
  (``Chart: Revenue by region`` / ``2024: Lisbon 1.2, Porto 0.8``); **SmartArt** diagrams by
  their words.
- **Pictures** become image segments through the image tower: "the slide with the revenue chart"
  can be found by its picture as well as its words. Caption: the picture's alt text and the
  slide's title (the rest of the slide's words are its text segment's). Icons under 32 px and
  EMF/WMF vector art are left out. A slide's text segment shows its first picture as its
  thumbnail (``office.deck_segments``).
- Hidden slides are indexed too (they are in the file); empty slides are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import (
    MAX_CHART_POINTS,
    SlideParts,
    add_table,
    alt_words,
    cell_text,
    chart_words,
    deck_segments,
    prepare,
    require,
)
from mmrag.ingest.tables import Table
from mmrag.types import Segment

log = logging.getLogger(__name__)
MAX_GROUP_DEPTH = 8  # groups inside groups deeper than this are not read (hostile files)
_DIAGRAM_URI = "http://schemas.openxmlformats.org/drawingml/2006/diagram"


def reading_order(shapes: list[Any]) -> list[Any]:
    """Shapes top to bottom, then left to right (rows ~ a tenth of an inch apart); unplaced shapes last."""
    def key(shape: Any) -> tuple[int, int, int]:
        top, left = getattr(shape, "top", None), getattr(shape, "left", None)
        if top is None or left is None:
            return (1, 0, 0)
        return (0, int(top) // 91_440, int(left))  # 91,440 EMU = 0.1 inch

    return sorted(shapes, key=key)


def _walk(shapes: Any, depth: int = 0) -> Iterator[Any]:
    """Every shape, groups opened, in reading order."""
    for shape in reading_order(list(shapes)):
        inner = getattr(shape, "shapes", None) if getattr(shape, "shape_type", None) == 6 else None  # 6: GROUP
        if inner is not None:
            if depth < MAX_GROUP_DEPTH:
                yield from _walk(inner, depth + 1)
            continue
        yield shape


def _alt_text(shape: Any) -> str:
    try:
        props = shape._element.xpath("./*[1]/p:cNvPr")
    except Exception:  # noqa: BLE001 - an odd shape element: no alt text
        return ""
    if not props:
        return ""
    return alt_words(" ".join([props[0].get("descr") or "", props[0].get("title") or ""]))


def chart_lines(chart: Any, most_points: int = MAX_CHART_POINTS) -> list[str]:
    """A chart's words (``office.chart_words``): its title, then one line per series with its values by category
    (``Sales: 1st Qtr 8.2, 2nd Qtr 3.2``), the first ``most_points`` of each."""
    try:
        title = ""
        if chart.has_title and chart.chart_title.has_text_frame:
            title = " ".join(chart.chart_title.text_frame.text.split())
        series = []
        for plot in chart.plots:
            categories = [str(c) for c in plot.categories]
            series += [(str(s.name or ""), categories, list(s.values)) for s in plot.series]
        return chart_words(title, series, most_points)
    except Exception as exc:  # noqa: BLE001 - a chart part python-pptx cannot read: the slide's other text stays
        log.debug("chart skipped: %s", exc)
        return []


def _diagram_text(shape: Any, slide: Any) -> str:
    """The words of a SmartArt diagram (kept in the slide's diagram data part, not in the shape)."""
    try:
        ids = shape._element.xpath(".//a:graphicData[@uri='" + _DIAGRAM_URI + "']/*[local-name()='relIds']")
        if not ids:
            return ""
        rid = ids[0].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}dm")
        blob = slide.part.related_part(rid).blob
    except Exception:  # noqa: BLE001 - no or a damaged diagram part: no words from it
        return ""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(blob)
    except Exception:  # noqa: BLE001 - malformed or hostile XML
        return ""
    words = [" ".join((t.text or "").split()) for t in root.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}t")]
    return " · ".join(w for w in words if w)


def _picture_blob(shape: Any) -> bytes | None:
    try:
        image = shape.image  # pictures and picture placeholders
    except (AttributeError, ValueError, KeyError):
        return None
    try:
        return bytes(image.blob)
    except Exception:  # noqa: BLE001 - a missing or damaged image part: skip the picture
        return None


def _slide_parts(slide: Any) -> SlideParts:
    """One slide's title, text lines, tables and pictures."""
    title_shape = slide.shapes.title
    title = " ".join((title_shape.text_frame.text if title_shape is not None and title_shape.has_text_frame else "").split())
    lines: list[str] = []
    tables: list[Table] = []
    pictures: list[tuple[bytes, str]] = []
    for shape in _walk(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            add_table([[cell_text(c.text) for c in row.cells] for row in shape.table.rows], lines, tables, title, gap=False)
            continue
        blob = _picture_blob(shape)
        if blob is not None:
            pictures.append((blob, _alt_text(shape)))
        if getattr(shape, "has_chart", False) and shape.has_chart:
            lines.extend(chart_lines(shape.chart))
            continue
        diagram = _diagram_text(shape, slide)
        if diagram:
            lines.append(diagram)
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            for paragraph in shape.text_frame.paragraphs:
                text = " ".join(paragraph.text.split())  # line breaks (vertical tabs) are spaces
                if text:
                    lines.append(("- " if paragraph.level else "") + text)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = " ".join(slide.notes_slide.notes_text_frame.text.split())
        if notes:
            lines.append(f"Notes: {notes}")
    return SlideParts(title, lines, tables, pictures)


class SlidesLoader:
    """Loader for the ``pptx`` kind."""

    kinds: tuple[str, ...] = ("pptx",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        require("pptx", "python-pptx", "PowerPoint decks (.pptx)")
        prepare(path, config, "PowerPoint deck")
        import pptx

        try:
            deck = pptx.Presentation(str(path))
            slides = list(deck.slides)
        except Exception as exc:  # noqa: BLE001 - python-pptx raises many types for damaged parts
            raise IngestError(source, f"not a readable PowerPoint deck ({type(exc).__name__}: {exc}); open and save it again") from None
        deck_title = " ".join(str(getattr(deck.core_properties, "title", "") or "").split())
        yield from deck_segments(path, (_read_slide(source, n, slide) for n, slide in enumerate(slides, 1)),
                                 "pptx", deck_title, config)


def _read_slide(source: str, number: int, slide: Any) -> SlideParts | None:
    try:
        return _slide_parts(slide)
    except Exception as exc:  # noqa: BLE001 - one damaged slide: the others still land
        log.warning("%s: slide %d skipped: %s: %s", source, number, type(exc).__name__, exc)
        return None


__all__ = ["SlidesLoader", "chart_lines", "reading_order"]
