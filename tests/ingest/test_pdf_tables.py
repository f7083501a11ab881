"""Tables in PDF pages: words split by measured gaps (most PDFs have no space glyphs), headerless
tables, and a real PDF made by others (the shared-mime-info specification)."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import pytest

from mmrag import registry
from mmrag.config import IngestConfig
from mmrag.engine import Engine
from mmrag.ingest.tables import _cells, _is_data_row

SPEC = Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


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


def _add_truetype_text(pdf: Any, page: Any, font_file: Path, text: str, x: float, y: float) -> None:
    """``text`` set in an embedded TrueType font (pdfium's ``FPDFText_LoadFont``), which can carry characters
    outside the Basic Multilingual Plane into the page's text layer."""
    import pypdfium2.raw as pdfium_c

    data = font_file.read_bytes()
    font = pdfium_c.FPDFText_LoadFont(pdf.raw, (ctypes.c_uint8 * len(data)).from_buffer_copy(data), len(data),
                                      pdfium_c.FPDF_FONT_TRUETYPE, 1)
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(11))
    buf = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)


@pytest.mark.parametrize("past_bmp", [False, True])
def test_a_page_table_is_read_from_one_text_read_or_character_by_character(tmp_path: Path, past_bmp: bool) -> None:
    """``_page_lines`` reads the page's text once and indexes it; where pdfium counts a character outside the
    Basic Multilingual Plane twice, the text does not line up with the characters and the page is read
    character by character as before. Either way the table's rows keep their words and values."""
    import pypdfium2 as pdfium
    from tests.media.test_pdf import add_text

    from mmrag.ingest.tables import pdf_tables

    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(612, 792)
    rows = [("Item", "Price", "Stock"), ("Rain jacket", "45.00", "12"), ("Wool hat", "12.50", "30"), ("Sun cap", "9.00", "7")]
    for r, row in enumerate(rows):
        for x, cell in zip((72, 300, 420), row):
            add_text(pdf, page, cell, x, 700 - 20 * r, 11)
    if past_bmp:  # a mathematical letter after the hat, in a TrueType font
        if not DEJAVU.is_file():
            pytest.skip("no DejaVu Sans (Debian's fonts-dejavu-core, which Chromium's fontconfig brings)")
        _add_truetype_text(pdf, page, DEJAVU, "\U0001d538", 130, 660)
    page.gen_content()
    path = tmp_path / "stock.pdf"
    pdf.save(str(path))
    textpage = pdfium.PdfDocument(str(path))[0].get_textpage()
    assert (len(textpage.get_text_range()) != textpage.count_chars()) == past_bmp  # the case each stands for
    (table,) = pdf_tables(textpage)
    assert table.header == ["Item", "Price", "Stock"]
    assert table.rows[0] == ["Rain jacket", "45.00", "12"] and table.rows[-1] == ["Sun cap", "9.00", "7"]
    assert table.rows[1][0].startswith("Wool hat") and table.rows[1][1:] == ["12.50", "30"]


def test_a_wrapped_cell_continues_its_row() -> None:
    from mmrag.ingest.tables import _joined, _wrapped

    xs = [90.0, 195.0, 344.0]
    assert _wrapped([(344.5, "//www.example.org/")], xs, 12.0) == [2]  # under the third column only
    assert _wrapped([(196.0, "tools"), (343.0, "more")], xs, 12.0) == [1, 2]
    assert _wrapped([(90.0, "The paragraph after the table")], xs, 12.0) is None  # the first column's start
    assert _wrapped([(260.0, "between columns")], xs, 12.0) is None
    assert _wrapped([(90.0, "a"), (195.0, "b"), (344.0, "c")], xs, 12.0) is None  # a full row is no wrap
    assert _joined("http:", "//www.example.org/") == "http://www.example.org/"
    assert _joined("GNU PIC", "utilities") == "GNU PIC utilities"
    assert _joined("checksum\ufffe", "ming") == "checksumming"  # pdfium's mark of a hyphenated word


def _lighthouse_tools(tmp_path: Path) -> Path:
    """A page with a table whose last cells wrap (a URL broken at its slash) under a bold header set at
    the body's size, between two paragraphs (made with pdfium)."""
    import pypdfium2 as pdfium
    from tests.media.test_pdf import add_text

    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(612, 792)
    add_text(pdf, page, "Lighthouse Keeping", 72, 760, 20, b"Helvetica-Bold")
    add_text(pdf, page, "3.1 Tools", 72, 740, 14, b"Helvetica-Bold")
    add_text(pdf, page, "These programs work well beside the lamp controller and are free to download today.", 72, 720, 10)
    y = 700
    for name, purpose, where in [("Name", "Purpose", "Where to get"), ("lampsim", "Lamp simulator", "http:"),
                                 ("", "", "//example.org/lampsim/"), ("hornctl", "Fog horn control", "http:"),
                                 ("", "", "//example.org/horn/"), ("lensfmt", "Lens file checker", "http://example.org/")]:
        for x, cell in ((72, name), (200, purpose), (340, where)):
            if cell:
                add_text(pdf, page, cell, x, y, 10, b"Helvetica-Bold" if name == "Name" else b"Helvetica")
        y -= 14
    add_text(pdf, page, "All three run on the keeper's laptop and need no network once they are installed there.", 72, y - 10, 10)
    page.gen_content()
    path = tmp_path / "tools.pdf"
    pdf.save(str(path))
    return path


def test_a_table_with_wrapped_cells_is_one_table_and_its_bold_header_no_title(tmp_path: Path) -> None:
    """Rows whose last cell wraps onto a second line (a LaTeX p{} column, a long URL) were no table: the
    wrapped line broke the run of aligned rows, and the header, set bold at the body's size, became the
    title of every chunk after it. Now the wrapped lines join their cells and the header is a plain line."""
    import pypdfium2 as pdfium

    from mmrag.ingest.tables import pdf_tables

    path = _lighthouse_tools(tmp_path)
    (table,) = pdf_tables(pdfium.PdfDocument(str(path))[0].get_textpage())
    assert table.header == ["Name", "Purpose", "Where to get"]
    assert table.rows == [["lampsim", "Lamp simulator", "http://example.org/lampsim/"],
                          ["hornctl", "Fog horn control", "http://example.org/horn/"],
                          ["lensfmt", "Lens file checker", "http://example.org/"]]
    segments = list(registry.resolve("loader", "pdf")().load(path, IngestConfig(ocr=False)))
    texts = [s for s in segments if s.modality.value == "text" and s.meta.get("kind") != "table_row"]
    assert texts and {s.meta.get("section") for s in texts} == {"3.1 Tools"}  # not "Name Purpose Where to get"
    assert "#" not in texts[0].text.split("3.1 Tools")[1]
    # the page's text holds the table a row a line, wrapped cells joined, not run into the paragraph after it
    assert ("today.\n\n\nName | Purpose | Where to get\nlampsim | Lamp simulator | http://example.org/lampsim/\n"
            "hornctl | Fog horn control | http://example.org/horn/\nlensfmt | Lens file checker | http://example.org/\n\n"
            "All three run") in texts[0].text, texts[0].text
    rows = [s.text for s in segments if s.meta.get("kind") == "table_row"]
    assert rows[0] == "Name: lampsim; Purpose: Lamp simulator; Where to get: http://example.org/lampsim/" and len(rows) == 3


def test_a_table_row_is_answered_once_with_its_header_labels(tmp_path: Path, extractive_engine: Engine) -> None:
    """Asked what a table row holds, the answer quoted the row twice (as fields, ``hornctl — purpose: Fog horn
    control; where_to_get: ...``, and as its text, ``Name: hornctl; Purpose: ...``) and then the page's own
    lines of the table ("Name Purpose Where to get"). Now the row once, under the document's labels, and no
    line that only repeats it."""
    path = _lighthouse_tools(tmp_path)
    extractive_engine.add([str(path)])
    answer = extractive_engine.ask("Where can I get hornctl?")
    first = "hornctl — Purpose: Fog horn control; Where to get: http://example.org/horn/ ["
    assert answer.text.startswith(first), answer.text
    assert answer.text.count("example.org/horn/") == 1 and "Name Purpose" not in answer.text, answer.text
    cited = answer.citations[0].hit
    assert cited.source.endswith("tools.pdf") and cited.span.page == 1 and cited.meta["kind"] == "table_row"
