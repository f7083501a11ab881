"""A PDF's titles told by their type (``ingest/pdf_layout``): the pure rules, then real PDFs pdfium writes and
reads back, then running heads that name the section and the chapter."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from tests.media.test_pdf import add_text

from mmrag.config import IngestConfig
from mmrag.ingest.pdf import PdfLoader, running_keys, without_running
from mmrag.ingest.pdf_layout import (
    BodyStyle,
    PdfLine,
    body_style,
    heading_levels,
    option_entry,
    page_markdown,
    paragraph_ends,
    respaced,
)
from mmrag.ingest.pipeline import embedded_text
from mmrag.markdown import as_shown
from mmrag.types import Modality

pdfium = pytest.importorskip("pypdfium2")
import pypdfium2.raw as pdfium_c

PROSE = "The keepers repainted every tower along the northern coast before the storms of the winter came."


def test_body_style_is_the_prose_type_not_a_longer_code_listing() -> None:
    prose = [PdfLine(PROSE, 10.0, 400)] * 3
    code = [PdfLine(r"\def\asy@x{#1}\let\a=\b", 7.0, 400)] * 40  # more characters, but no prose
    assert body_style([prose, code]) == BodyStyle(10.0, 400)
    assert body_style([code]) == BodyStyle(7.0, 400)  # no prose at all: every line counts
    assert body_style([[PdfLine("no sizes here")]]) is None


def test_titles_are_ranked_by_size_and_bold_ones_come_last() -> None:
    body = BodyStyle(10.0, 400)
    page = [
        PdfLine("Lighthouse Manual", 24.0, 400),
        PdfLine("1 Maintenance", 14.0, 700),
        PdfLine(PROSE, 10.0, 400),
        PdfLine("Examples", 10.0, 700),  # bold at the body's size
        PdfLine("Repaint the lamp room.", 10.0, 700),  # a bold sentence is no title
        PdfLine("2 Fog", 14.0, 700),
        PdfLine("horns", 14.0, 700),  # a title wrapped over two lines is one heading
        PdfLine(PROSE, 10.0, 400),
    ]
    levels = heading_levels([page], body)
    assert levels == {24.0: 1, 14.0: 2}
    assert page_markdown(page, body, levels).split("\n") == [
        "", "# Lighthouse Manual", "", "", "## 1 Maintenance", "", PROSE, "", "### Examples", "",
        "Repaint the lamp room.", "", "## 2 Fog horns", "", PROSE,
    ]


def test_a_bold_line_in_another_font_family_is_no_title() -> None:
    from mmrag.ingest.pdf_layout import font_family

    assert font_family("ABCDEF+Times-Bold") == font_family("Times-Roman") == font_family("Times-Italic") == "times"
    assert font_family("Arial-BoldMT") == font_family("ArialMT") == "arial"
    assert font_family("Calibri,Bold") == font_family("Calibri") == "calibri"
    assert font_family("CMBX10") == font_family("CMR10") == "cm" and font_family("CMTT10") == "cmtt"  # TeX's faces
    assert font_family("NimbusSanL-Bold") != font_family("NimbusRomNo9L-Regu") == font_family("NimbusRomNo9L-Medi")
    assert font_family("DejaVuSansMono-Bold") != font_family("DejaVuSans") and font_family("") == ""
    body = BodyStyle(9.0, 425, "nimbusromno9l")
    page = [PdfLine(PROSE, 9.0, 425, family="nimbusromno9l"),
            PdfLine("3.2.4 Projects with Libraries", 9.0, 700, family="nimbusromno9l"),  # bold serif: a title
            PdfLine("sdcc foomain.rel foo1.rel foo2.rel", 9.0, 704, family="nimbussanl"),  # bold sans: a command
            PdfLine("make 2>&1 | tee make.log", 9.0, 704)]  # no family read: bold decides, as before
    assert page_markdown(page, body, {}).split("\n") == [PROSE, "", "# 3.2.4 Projects with Libraries", "",
                                                         "sdcc foomain.rel foo1.rel foo2.rel", "", "# make 2>&1 | tee make.log", ""]
    assert body_style([page[:1] * 3]) == body


def test_large_type_over_many_lines_is_text_and_no_sizes_leave_the_text_alone() -> None:
    body = BodyStyle(10.0, 400)
    cover = [PdfLine(f"Line {n} of a pull quote set large", 16.0, 400) for n in range(4)] + [PdfLine(PROSE, 10.0, 400)]
    levels = heading_levels([cover], body)
    assert "#" not in page_markdown(cover, body, levels)
    assert page_markdown([PdfLine("A"), PdfLine("B")], None, {}) == "A\nB"
    long_line = PdfLine(" ".join(["word"] * 20), 16.0, 400)  # a paragraph in a larger type, not a title
    assert page_markdown([long_line], body, heading_levels([[long_line]], body)) == long_line.text


def _manual(path: Path) -> Path:
    """Two pages: a 22 pt title, 15 pt section titles (one drawn at 1 pt and scaled by the text matrix, as
    some producers write), a bold subsection title at the body's size, 10 pt prose, a 7 pt code listing."""
    pdf = pdfium.PdfDocument.new()
    p1 = pdf.new_page(612, 792)
    add_text(pdf, p1, "Lighthouse Manual", 72, 720, 22)
    add_text(pdf, p1, "1 Lamp room", 72, 680, 15)
    y = 650
    for n in range(4):
        add_text(pdf, p1, f"Clean the lens of the lamp with a soft cloth every morning, step {n}.", 72, y, 10)
        y -= 14
    add_text(pdf, p1, "Examples", 72, y - 10, 10, b"Helvetica-Bold")
    add_text(pdf, p1, "The keepers clean the brass fittings after each storm has passed.", 72, y - 30, 10)
    add_text(pdf, p1, "lampctl --polish lens.cfg", 72, y - 50, 10, b"Courier-Bold")  # a command in bold typewriter
    add_text(pdf, p1, "The polish takes an hour and leaves the lens clear for the night.", 72, y - 70, 10)
    p1.gen_content()
    p2 = pdf.new_page(612, 792)
    title = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(1.0))
    buf = ctypes.create_string_buffer("2 Fog horns\x00".encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(title, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(title, 15, 0, 0, 15, 72, 720)  # 1 pt type, scaled 15 times
    pdfium_c.FPDFPage_InsertObject(p2.raw, title)
    add_text(pdf, p2, "The horn sounds twice a minute when the fog is thick over the bay.", 72, 690, 10)
    for n in range(30):  # more characters than the prose, in a smaller type
        add_text(pdf, p2, f"horn.set(rate={n}); horn.sound(); log(x{n})", 72, 660 - 12 * n, 7)
    p2.gen_content()
    out = path / "lighthouse_manual.pdf"
    pdf.save(str(out))
    return out


def test_a_manuals_titles_become_headings_and_chunks_start_at_them(tmp_path: Path) -> None:
    segs = [s for s in PdfLoader().load(_manual(tmp_path), IngestConfig(ocr=False)) if s.modality is Modality.TEXT]
    assert {s.span.page for s in segs} == {1, 2}
    p1 = "\n".join(s.text or "" for s in segs if s.span.page == 1)
    p2 = "\n".join(s.text or "" for s in segs if s.span.page == 2)
    lines1 = p1.split("\n")
    assert "# Lighthouse Manual" in lines1 and "## 1 Lamp room" in lines1 and "### Examples" in lines1
    assert "lampctl --polish lens.cfg" in lines1  # bold, at the body's size, but another family: code, no title
    assert lines1[lines1.index("## 1 Lamp room") + 1] == ""  # a paragraph of its own: never run into the prose
    assert "## 2 Fog horns" in p2.split("\n")  # the scaled 1 pt title is read at its 15 pt
    assert {s.meta.get("title") for s in segs} == {"Lighthouse Manual"}  # no metadata title: the first page's heading
    assert not any(line.startswith("#") and "horn." in line for line in p2.split("\n"))  # the listing is text
    small = [s for s in PdfLoader().load(_manual(tmp_path), IngestConfig(ocr=False, chunk_words=12, chunk_overlap=4))
             if s.modality is Modality.TEXT and s.span.page == 1]
    assert not any((s.text or "").rstrip().split("\n")[-1].startswith("#") for s in small)  # none ends on a title
    starts = [s for s in small if "Examples" in (s.text or "")]
    assert (starts[0].text or "").startswith("### Examples")  # the section's chunk starts at its title ...
    assert "morning" not in (starts[0].text or "")  # ... with nothing of the section before it


def test_a_running_head_that_names_the_section_and_the_chapter_goes_after_its_first_page() -> None:
    sections = ["3.14 Memory", "3.15 Models", "3.16. PRAGMAS"]
    pages = [f"{sections[n // 2]} CHAPTER 3. USING SDCC\nPage {n} says its own thing, {'x' * n}.\nThe middle.\n"
             f"Page {n} ends its own way, {'w' * n}.\nThe end {'y' * n}." for n in range(6)]
    pages.append("Appendix A\nThe body of the appendix.\nIts end.")
    keys = running_keys(pages)
    assert "$#. using sdcc" in keys  # the chapter's part repeats on six pages in a row, the section's changes
    kept: set[str] = set()
    out = [without_running(page, keys, kept) for page in pages]
    assert out[0].startswith("3.14 Memory CHAPTER 3.") and all("CHAPTER" not in page for page in out[1:])
    assert all(f"Page {n} says" in out[n] and f"Page {n} ends" in out[n] for n in range(6))  # not the outer lines
    # a long line whose last words repeat on two pages only stays
    two = [f"Line {n} opens the page and ends with the same three words" if n in (1, 2) else f"Page {n} body {'z' * n}"
           for n in range(8)]
    assert not any(key.startswith("$") for key in running_keys(two))


def test_a_line_short_of_its_columns_edge_ends_its_paragraph() -> None:
    """Two columns (left edges 72 and 320, each 220 pt wide): a full line goes on, a short one ends its
    paragraph (the last line, a list's item, a table's row) unless the next line carries its sentence on."""
    def line(text: str, left: float, right: float) -> PdfLine:
        return PdfLine(text, 10.0, 400, left, right)

    lines = [
        line("Every spring the lighthouse board sends out its", 72, 291),
        line("inspectors, and in the year of the great storm", 72, 292),
        line("The keepers repainted every tower along the", 72, 292),
        line("northern coast.", 72, 150),  # the paragraph's last line
        line("MODEL_SMALL when --model-small is used", 72, 250),  # an item of a list: short
        line("MODEL_LARGE when --model-large is used", 72, 250),
        line("The horn sounds twice a minute when the fog", 320, 540),  # the second column: its own edge
        line("is thick, and the keeper", 320, 440),  # short, but the next line goes on in lower case
        line("logs every hour of it in the book.", 320, 500),
        line("Lamps are cleaned at dawn by the keeper on", 320, 538),
    ]
    assert paragraph_ends(lines) == [False, False, False, True, True, True, False, False, True, False]
    assert paragraph_ends([PdfLine("no"), PdfLine("positions"), PdfLine("here")]) == [False, False, False]
    text = page_markdown(lines, BodyStyle(10.0, 400), {})
    assert "northern coast.\n\nMODEL_SMALL when --model-small is used\n\nMODEL_LARGE" in text
    assert "is thick, and the keeper\nlogs every hour" in text


def _boxes(text: str, gaps: dict[int, float], width: float = 5.0, height: float = 10.0) -> list[tuple[float, float, float, float]]:
    """Loose boxes of ``text`` set left to right, each character ``width`` wide and a space 3 pt; ``gaps``: the
    points before the character at an index (negative: a kerned pair)."""
    out, x = [], 0.0
    for i, ch in enumerate(text):
        x += gaps.get(i, 0.0)
        w = 3.0 if ch == " " else width
        out.append((x, 0.0, x + w, height))
        x += w
    return out


def test_spaces_are_mended_from_where_the_characters_stand() -> None:
    # "Youcan": a word's gap with no space in the text layer (PostScript producers move to the next word)
    text, origin = respaced("Youcan", _boxes("Youcan", {3: 3.0}))
    assert text == "You can" and origin == [0, 1, 2, -1, 3, 4, 5]
    # "giv en": a space the text layer put between letters that touch (a kerned pair)
    assert respaced("giv en", _boxes("giv en", {3: -3.0}))[0] == "given"
    assert respaced("a b", _boxes("a b", {}))[0] == "a b"  # a space that is one stays
    assert respaced("r f", _boxes("r f", {2: -2.5}))[0] == "r f"  # a glyph reaching back over its space: a small gap stays
    assert respaced("kern", _boxes("kern", {1: 0.5, 2: -0.4}))[0] == "kern"  # kerning is no space
    rtl = [(40.0 - 5 * i, 0.0, 45.0 - 5 * i, 10.0) for i in range(5)]  # right to left: each character left of the last
    assert respaced("abc d", rtl)[0] == "abc d"
    unknown = _boxes("ab", {1: 9.0})
    unknown[0] = (0.0, 0.0, 0.0, 0.0)  # pdfium knows no box for it
    assert respaced("ab", unknown)[0] == "ab"
    raised = _boxes("x2", {1: 3.0})
    raised[1] = (raised[1][0], 20.0, raised[1][2], 26.0)  # not on the line (another line's character): no space
    assert respaced("x2", raised)[0] == "x2"


def test_an_option_lists_entry_is_told_by_the_gap_after_its_tag_or_the_indent_under_it() -> None:
    """What groff's ``.TP`` and LaTeX's ``description`` leave in a text layer: a tag, a gap wider than a space,
    its text; or a tag alone over its text set further right. ``gaps``: (index of a space, points wide)."""
    inline = PdfLine("\u2212C list entries by columns", 10.0, 400, 108, 234, ((2, 23.6), (7, 2.7), (15, 2.9), (18, 3.0)))
    assert option_entry(inline, None) == 3  # "list entries ..." starts after the wide gap
    latex = PdfLine("--iram-size <Value> Causes the linker to check", 9.0, 400, 85, 400,
                    ((11, 2.9), (19, 5.5), (26, 3.0), (30, 2.9), (37, 2.6)))
    assert option_entry(latex, None) == 20  # the tag has an argument: the second gap is the wide one
    tag = PdfLine("\u2212a, \u2212\u2212all", 10.0, 400, 108, 146, ((3, 3.4),))
    under = PdfLine("do not ignore entries starting with .", 10.0, 400, 144, 284)
    assert option_entry(tag, under) == len(tag.text)  # a tag alone, its text under it 36 pt further right
    assert option_entry(tag, PdfLine("do not ignore entries", 10.0, 400, 108, 284)) == 0  # not indented: no entry
    prose = PdfLine("\u2212C and \u2212c are not the same, and the keepers", 10.0, 400, 108, 540,
                    ((2, 2.9), (6, 2.9), (9, 3.0), (13, 2.8), (17, 3.1)))
    assert option_entry(prose, under) == 0  # a sentence that starts with an option: even gaps, too long to be a tag
    wrapped = PdfLine("\u2212cftuvSUX nor \u2212\u2212sort is specified", 10.0, 400, 108, 251, ((9, 2.9), (13, 2.8), (20, 2.7)))
    assert option_entry(wrapped, under) == 0  # a sentence's line over an indented one: its words are no tag's
    assert option_entry(PdfLine("-o file", 10.0, 400, 108, 140, ((2, 3.0),)), under) == len("-o file")  # an argument
    stop = PdfLine("-x. Then the lamp turns again", 10.0, 400, 108, 400, ((3, 4.4), (8, 2.9), (12, 3.0), (17, 2.9)))
    assert option_entry(stop, None) == 0  # a wider space after a full stop ends a sentence, not a tag
    assert option_entry(PdfLine("list entries by columns", 10.0, 400, 108, 234), under) == 0  # no option first
    body = BodyStyle(10.0, 400)
    text = page_markdown([PdfLine("Options", 10.0, 700, 72, 110), inline,
                          PdfLine("\u2212\u2212author", 10.0, 700, 108, 148, ()),  # bold: an entry, not a title
                          PdfLine("with \u2212l, print the author of each file", 10.0, 400, 144, 286)], body, {})
    assert text.split("\n") == ["", "# Options", "", "-C: list entries by columns", "",
                                 "--author: with \u2212l, print the author of each file"]


def test_a_table_of_contents_or_an_index_is_told_from_a_page_of_numbers() -> None:
    from mmrag.ingest.pdf_layout import is_contents_page

    contents = ["CONTENTS", "II Plotting styles 62", "Arrows 62", "Bee swarm plots 62", "Boxes 63",
                "2D boxes . . . . . . . . . . . . 63", "3D boxes . . . . . . . . 64", "Boxplot 64", "Candlesticks 66",
                "Circles 67", "Ellipses 68"]
    index = ["mttics, 172", "multi branch, 44, 51", "multiplot, 180-182", "mxtics, 173", "mytics, 174",
             "negative numbers, 12", "new, 90", "nonlinear, 175, 201", "offsets, 176"]
    resources = [f"gnuplot*line{n}Width: 0" for n in range(10)]  # an X resources list: numbers, not pages
    prices = ["Lamp oil 12", "Brass polish 4", "Cloth 2", "Lens cap 30", "Wick 1", "Soot brush 9", "Chimney 44",
              "Logbook 7", "Pencil 1"]  # a price list: numbers that do not rise
    assert is_contents_page(contents) and is_contents_page(index)
    assert not is_contents_page(resources) and not is_contents_page(prices)
    assert not is_contents_page(contents[:5])  # too few lines to tell ...
    last = ["CONTENTS", "V Bugs 303", "Known limitations 303", "VI Index 303"]
    assert not is_contents_page(last) and is_contents_page(last, continues=True)  # ... unless next to contents
    assert not is_contents_page(["Chapter 3", "The horn sounds twice a minute.", "It is loud."], continues=True)


def _keepers(tmp_path: Path) -> Path:
    """A contents page (titles left, page numbers right) and a page with the section "Fog horns"."""
    pdf = pdfium.PdfDocument.new()
    toc = pdf.new_page(612, 792)
    add_text(pdf, toc, "Contents", 72, 740, 20)
    for n, (title, page) in enumerate([("Lamp room", 3), ("Fog horns", 5), ("Logbook", 8), ("Storms", 11),
                                       ("Supplies", 14), ("Keepers", 17), ("Boats", 20), ("Index", 24)]):
        add_text(pdf, toc, title, 72, 700 - 20 * n, 12)
        add_text(pdf, toc, str(page), 500, 700 - 20 * n, 12)
    toc.gen_content()
    body = pdf.new_page(612, 792)
    add_text(pdf, body, "Fog horns", 72, 720, 16)
    add_text(pdf, body, "The horn sounds twice a minute when the fog is thick over the bay and the keepers are on watch.", 72, 690, 10)
    body.gen_content()
    path = tmp_path / "keepers.pdf"
    pdf.save(str(path))
    return path


def test_a_contents_page_is_read_as_lines_flagged_and_never_quoted(tmp_path: Path) -> None:
    from mmrag.generate import build_prompt
    from mmrag.generate.extractive import ExtractiveGenerator
    from mmrag.types import Hit

    path = _keepers(tmp_path)
    segs = list(PdfLoader().load(path, IngestConfig(ocr=False)))
    first = [s for s in segs if s.span.page == 1]
    assert first and all(s.meta.get("contents") == "yes" and s.modality is Modality.TEXT for s in first)  # no table rows
    assert "#" not in (first[0].text or "") and "Fog horns" in (first[0].text or "")  # its titles are no headings
    page2 = next(s for s in segs if s.span.page == 2)
    assert "contents" not in page2.meta and (page2.text or "").startswith("# Fog horns")
    hits = [Hit(s.id, str(path), s.modality, s.span, 1.0, text=s.text, meta=s.meta) for s in (first[0], page2)]
    answer = ExtractiveGenerator().generate(build_prompt("What about the fog horns?", hits, vision=False))
    assert answer.text.startswith("The horn sounds twice a minute"), answer.text
    assert "[1]" not in answer.text  # the contents page is context, never a quote


def test_ask_leaves_a_contents_page_out_of_the_context(tmp_path: Path) -> None:
    """End to end (real MiniLM space, real LanceDB folder): search still finds the contents page, ask gives
    its place in the context to the pages that say something."""
    import mmrag
    from mmrag.config import load_config

    path = _keepers(tmp_path)
    index = tmp_path / "index"
    config = load_config({"index": str(index), "space.name": "minilm", "space.image_model": "off",
                          "space.audio_model": "off", "ingest.ocr": False}, environ={})
    with mmrag.Engine.open(str(index), config) as engine:
        engine.add([path])
        pages = {h.span.page: h.meta.get("contents") for h in engine.search("fog horns contents")}
        assert pages == {1: "yes", 2: None}
        answer = engine.ask("What about the fog horns?", min_relevance=0.0)
        assert [h.span.page for h in answer.context] == [2]
        assert answer.text.startswith("The horn sounds twice a minute"), answer.text


def test_a_pdfs_title_is_its_metadatas_unless_that_is_a_leftover() -> None:
    from mmrag.ingest.pdf_layout import document_title

    first = "\n# SDCC Compiler\n\nThe manual."
    assert document_title("SDCC Compiler User Guide", first) == "SDCC Compiler User Guide"
    for leftover in ("", "  ", "Untitled", "Microsoft Word - report.docx", "slides.pptx", "Document1"):
        assert document_title(leftover, first) == "SDCC Compiler", leftover
    assert document_title("", "No heading on this page.") == ""
    assert document_title("", "No heading on this page.", "tar") == "tar"  # no title, no heading: the file's name
    assert document_title("", first, "tar") == "SDCC Compiler"


def test_a_section_goes_on_over_the_page_and_a_hash_line_is_no_heading(tmp_path: Path) -> None:
    """Each chunk names the headings it falls under (``meta["section"]``, read by the text tower with the chunk),
    on the next page too; a listing's ``# comment`` line is text (escaped ``\\#``, shown as written), not a
    heading that would end the section."""
    pdf = pdfium.PdfDocument.new()
    p1 = pdf.new_page(612, 792)
    add_text(pdf, p1, "Lighthouse Manual", 72, 720, 22)
    add_text(pdf, p1, "1 Lamp room", 72, 680, 15)
    for n in range(4):
        add_text(pdf, p1, f"Clean the lens of the lamp with a soft cloth every morning, step {n}.", 72, 650 - 14 * n, 10)
    p1.gen_content()
    p2 = pdf.new_page(612, 792)
    add_text(pdf, p2, "The brass fittings of the lamp are polished after each storm.", 72, 720, 10)
    add_text(pdf, p2, "# polish the brass twice", 72, 700, 10)
    add_text(pdf, p2, "The keepers write each storm down in the log book by the door.", 72, 680, 10)
    p2.gen_content()
    path = tmp_path / "keepers.pdf"
    pdf.save(str(path))
    segs = [s for s in PdfLoader().load(path, IngestConfig(ocr=False)) if s.modality is Modality.TEXT]
    by_page = {s.span.page: s for s in segs}
    assert by_page[1].meta["section"] == "1 Lamp room"  # its words start under both titles; the title is shown anyway
    assert by_page[2].meta["section"] == "1 Lamp room"  # carried over the page
    assert embedded_text(by_page[2]).startswith("Lighthouse Manual > 1 Lamp room\n\n")
    text = by_page[2].text or ""
    assert "\\# polish the brass twice" in text.split("\n") and "# polish" not in text.replace("\\#", "")
    assert "# polish the brass twice" in as_shown(text).split("\n")  # shown as written


def test_spaces_are_measured_while_the_first_pages_need_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Measuring every character costs two microseconds each: a document whose first ``CHECK_PAGES`` pages with
    text need no space mended is read as pdfium writes it; one that needed any keeps being mended."""
    from mmrag.ingest.pdf_layout import CHECK_PAGES

    def pages(needs: list[bool | None]) -> list[bool]:
        asked: list[bool] = []

        def page_text(doc: object, index: int, respace: bool = True) -> tuple[str, list[PdfLine], bool]:
            asked.append(respace)
            return ("" if needs[index] is None else "words", [], bool(needs[index]) and respace)

        monkeypatch.setattr(PdfLoader, "_page_text", staticmethod(page_text))
        read = PdfLoader._pages_text(None, len(needs))
        assert all(r is not None and len(r) == 2 for r in read)
        return asked

    assert CHECK_PAGES == 3
    assert pages([None, False, False, False, False, False]) == [True, True, True, True, False, False]  # a blank page is no check
    assert pages([False, True, False, False, False, False]) == [True] * 6


def test_a_table_is_written_a_row_a_line_where_the_page_text_holds_it() -> None:
    """The page's text runs a table's lines together as prose (a wrapped URL, the last row into the next
    paragraph); the lines that hold a table's cells, in order, become its rows, one ``a | b`` line each.
    Text the cells are not (in another order, with a word more) is left as the page has it."""
    from mmrag.ingest.pdf_layout import tables_as_rows
    from mmrag.ingest.tables import Table

    body = ("Tools we use.\n\n## Name Purpose Where to get\nlampsim Lamp simulator http:\n//example.org/l/\n"
            "hornctl Fog horn control http://example.org/h/\nAll three run offline.")
    table = Table(["Name", "Purpose", "Where to get"], [["lampsim", "Lamp simulator", "http://example.org/l/"],
                                                          ["hornctl", "Fog horn control", "http://example.org/h/"]])
    assert tables_as_rows(body, [table.lines]).split("\n") == [
        "Tools we use.", "", "", "Name | Purpose | Where to get", "lampsim | Lamp simulator | http://example.org/l/",
        "hornctl | Fog horn control | http://example.org/h/", "", "All three run offline."]
    # a table with no header line: its rows only ("column 1" ... are the reader's names, not the page's)
    plain = Table(["column 1", "column 2"], [["0", "Success."], ["1", "Some files differ."]], headed=False)
    assert plain.lines == [["0", "Success."], ["1", "Some files differ."]]
    assert tables_as_rows("Exit status:\n0 Success.\n1 Some files\ndiffer.\nDone.", [plain.lines]).split("\n") == [
        "Exit status:", "", "0 | Success.", "1 | Some files differ.", "", "Done."]
    # not the same letters in order: unchanged
    assert tables_as_rows("lampsim Lamp simulator\nhornctl and more words", [table.lines]) == "lampsim Lamp simulator\nhornctl and more words"
    assert tables_as_rows(body, []) == body
