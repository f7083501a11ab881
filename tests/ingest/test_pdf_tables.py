"""Tables in PDF pages: words split by measured gaps (most PDFs have no space glyphs), headerless
tables, and a real PDF made by others (the shared-mime-info specification)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrag import registry
from mmrag.config import IngestConfig
from mmrag.ingest.tables import _cells, _is_data_row

SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")


def _glyphs(words: list[tuple[float, str]], width: float = 5.0) -> list[tuple[float, float, str]]:
    """Character boxes of ``(x, word)`` runs, one glyph ``width`` wide each, no space glyphs."""
    out = []
    for x, word in words:
        for k, ch in enumerate(word):
            out.append((x + k * width, x + (k + 1) * width, ch))
    return out


def test_words_are_split_by_their_gap_and_cells_by_a_wide_one() -> None:
    # "Rain jacket" (a 3-unit word gap), then a column 30 units on; no space glyphs at all
    line = _glyphs([(0, "Rain"), (23, "jacket"), (83, "45.00")])
    assert _cells(line) == [(0, "Rain jacket"), (83, "45.00")]
    # kerning-sized gaps (under a quarter of a glyph) do not split words
    tight = [(0.0, 5.0, "a"), (5.5, 10.5, "b"), (10.8, 15.8, "c")]
    assert _cells(tight) == [(0.0, "abc")]


def test_a_first_row_typed_like_its_column_is_data_not_a_header() -> None:
    body = [["4", "CARD32 ALIAS_LIST_OFFSET"], ["4", "CARD32 PARENT_LIST_OFFSET"]]
    assert _is_data_row(["2", "CARD16 MAJOR_VERSION 1"], body)
    assert not _is_data_row(["Size", "Field"], body)
    years = [["Rain jacket", "45.00", "48.00"], ["Wool hat", "12.50", "13.00"]]
    assert not _is_data_row(["Item", "2023", "2024"], years)  # years over number columns stay a header


def test_real_pdf_table_rows_keep_their_words_and_values() -> None:
    if not SPEC.is_file():
        pytest.skip("shared-mime-info's specification PDF is not installed (apt-get install shared-mime-info)")
    loader = registry.resolve("loader", "pdf")()
    segs = list(loader.load(SPEC, IngestConfig(ocr=False)))
    rows = [s for s in segs if s.meta.get("kind") == "table_row"]
    header = [s for s in rows if s.fields and str(s.fields.get("column_2", "")).endswith("MAJOR_VERSION 1")]
    assert len(header) == 1, [s.fields for s in rows[:5]]
    first = header[0]
    assert first.span.page == 11 and first.fields == {"column_1": 2, "column_2": "CARD16 MAJOR_VERSION 1"}
    texts = [str(v) for s in rows for v in (s.fields or {}).values()]
    assert "CARD32 ALIAS_LIST_OFFSET" in texts and not any("CARD32ALIAS" in t for t in texts)
