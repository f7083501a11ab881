"""PdfLoader on PDFs the tests build: page text with page numbers, figures, scans (OCR), bad files."""

from __future__ import annotations

import ctypes
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from tests.conftest import package_file

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.chunking import has_words
from mmrag.ingest.pdf import PdfLoader, clean_text, pick_caption
from mmrag.types import Modality

pdfium = pytest.importorskip("pypdfium2")
import pypdfium2.raw as pdfium_c


def add_text(pdf, page, text: str, x: float, y: float, size: float = 14.0, font: bytes = b"Helvetica") -> None:  # type: ignore[no-untyped-def]
    obj = pdfium_c.FPDFPageObj_NewTextObj(pdf.raw, font, ctypes.c_float(size))
    buf = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)


def add_image(pdf, page, pil: Image.Image, x: float, y: float, w: float, h: float) -> None:  # type: ignore[no-untyped-def]
    img = pdfium.PdfImage.new(pdf)
    img.set_bitmap(pdfium.PdfBitmap.from_pil(pil.convert("RGB")))
    img.set_matrix(pdfium.PdfMatrix().scale(w, h).translate(x, y))
    page.insert_obj(img)


def add_bars(page, heights: tuple[int, ...] = (60, 120, 200)) -> None:  # type: ignore[no-untyped-def]
    """A vector bar chart: blue filled rectangles, paths only."""
    for i, hgt in enumerate(heights):
        rect = pdfium_c.FPDFPageObj_CreateNewRect(40 + i * 80, 40, 50, hgt)
        pdfium_c.FPDFPageObj_SetFillColor(rect, 30, 90, 200, 255)
        pdfium_c.FPDFPath_SetDrawMode(rect, pdfium_c.FPDF_FILLMODE_ALTERNATE, 0)
        pdfium_c.FPDFPage_InsertObject(page.raw, rect)


def tiny_pdf(extra_trailer: str = "", extra_objs: tuple[str, ...] = ()) -> bytes:
    """A hand-written one-page PDF (used for the encrypted case pdfium cannot write)."""
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        *extra_objs,
    ]
    out, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offs)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R {extra_trailer}>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """p.1 text, p.2 a photo with a caption and a logo, p.3 text + the same logo, p.4 a scanned page, p.5 a chart."""
    cat = Image.open(package_file("skimage", "data/chelsea.png"))
    logo = Image.new("RGB", (80, 80), (200, 30, 30))
    ImageDraw.Draw(logo).ellipse((10, 10, 70, 70), fill=(255, 255, 255))
    pdf = pdfium.PdfDocument.new()
    p1 = pdf.new_page(612, 792)
    add_text(pdf, p1, "Annual report on lighthouse maintenance.", 72, 700)
    add_text(pdf, p1, "The keepers repainted every tower along the northern coast.", 72, 680)
    p1.gen_content()
    p2 = pdf.new_page(612, 792)
    add_text(pdf, p2, "Staff and animals of the harbour office.", 72, 700)
    add_image(pdf, p2, cat, 100, 300, 300, 200)
    add_text(pdf, p2, "Figure 1: the office cat asleep on the desk.", 100, 280, 10)
    add_image(pdf, p2, logo, 500, 720, 40, 40)
    add_image(
        pdf, p2, Image.new("RGB", (20, 20), (0, 0, 255)), 20, 20, 10, 10
    )  # an icon below pdf_min_figure_px
    p2.gen_content()
    p3 = pdf.new_page(612, 792)
    add_text(pdf, p3, "Budget: the fog horn repairs cost more than planned.", 72, 700)
    add_image(pdf, p3, logo, 500, 720, 40, 40)
    p3.gen_content()
    p4 = pdf.new_page(612, 792)  # a scanned page: one full-page picture of text, no text layer
    add_image(pdf, p4, Image.open(package_file("skimage", "data/page.png")), 0, 0, 612, 792)
    p4.gen_content()
    p5 = pdf.new_page(300, 300)  # a vector chart: paths only
    add_bars(p5)
    p5.gen_content()
    out = tmp_path_factory.mktemp("pdf") / "harbour_report.pdf"
    pdf.save(str(out))
    return out


@pytest.fixture(scope="module")
def segments(report_pdf: Path):  # type: ignore[no-untyped-def]
    return list(PdfLoader().load(report_pdf, IngestConfig()))


def test_text_segments_carry_their_page(segments, report_pdf: Path) -> None:  # type: ignore[no-untyped-def]
    texts = {s.span.page: s for s in segments if s.modality is Modality.TEXT and not s.meta.get("ocr")}
    assert set(texts) == {1, 2, 3}
    assert "lighthouse" in texts[1].text and "fog horn" in texts[3].text
    assert all(s.source == str(report_pdf) for s in segments)
    p1 = texts[1]
    raw = pdfium.PdfDocument(str(report_pdf))[0].get_textpage().get_text_range()
    assert clean_text(raw)[p1.span.start : p1.span.end] == p1.text  # offsets index the page's text
    thumb = Image.open(io.BytesIO(p1.thumbnail or b""))
    assert thumb.format == "JPEG" and max(thumb.size) == 256
    assert len({s.id for s in segments}) == len(segments)


def test_figures_are_extracted_with_captions(segments) -> None:  # type: ignore[no-untyped-def]
    figs = [s for s in segments if s.modality is Modality.IMAGE and s.meta.get("figure") != "page"]
    assert [(s.span.page, s.meta["figure"]) for s in figs] == [
        (2, "1"),
        (2, "2"),
    ]  # cat, logo (once; icon too small)
    cat, logo = figs
    assert cat.text.startswith("Figure 1: the office cat")
    assert cat.meta["part"] == "fig-1" and cat.id != logo.id
    # the extracted picture is the cat photo (451x300 in skimage)
    ref = np.asarray(
        Image.open(package_file("skimage", "data/chelsea.png")).convert("RGB").resize((64, 43)), np.float32
    )
    got = np.asarray(cat.image.resize((64, 43)), np.float32)
    assert abs(cat.image.size[0] - 451) <= 1 and abs(cat.image.size[1] - 300) <= 1  # rendered at native size
    assert np.abs(ref - got).mean() < 6.0
    assert Image.open(io.BytesIO(cat.thumbnail or b"")).size[0] == 256


def test_scanned_page_is_ocred(segments) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("rapidocr_onnxruntime")
    ocr = [s for s in segments if s.span.page == 4]
    assert ocr and all(s.modality is Modality.TEXT and s.meta.get("ocr") == "yes" for s in ocr)
    text = " ".join(s.text for s in ocr).lower()
    assert "region" in text or "threshold" in text, text[
        :300
    ]  # skimage page.png is a page of a paper on thresholding
    assert ocr[0].thumbnail is not None


def test_vector_chart_page_becomes_a_picture(segments) -> None:  # type: ignore[no-untyped-def]
    chart = [s for s in segments if s.span.page == 5]
    assert len(chart) == 1 and chart[0].modality is Modality.IMAGE and chart[0].meta["figure"] == "page"
    arr = np.asarray(chart[0].image)
    assert (np.abs(arr.astype(int) - [30, 90, 200]).sum(axis=2) < 30).mean() > 0.05  # the blue bars are there


def test_hit_label_says_the_page(segments) -> None:  # type: ignore[no-untyped-def]
    from mmrag.types import Hit

    s = next(s for s in segments if s.span.page == 2 and s.modality is Modality.IMAGE)
    hit = Hit(s.id, "harbour_report.pdf", s.modality, s.span, 1.0, meta=s.meta)
    assert hit.label() == f"harbour_report.pdf p. 2, fig. {s.meta['figure']}"


def test_text_query_finds_the_right_page(segments, minilm) -> None:  # type: ignore[no-untyped-def]
    texts = [s for s in segments if s.text]
    docs = minilm.encode([s.text for s in texts], normalize_embeddings=True)
    for query, page in (
        ("who repainted the towers?", 1),
        ("cost of fixing the fog horn", 3),
        ("sleeping cat", 2),
    ):
        q = minilm.encode([query], normalize_embeddings=True)[0]
        assert texts[int(np.argmax(docs @ q))].span.page == page, query


def test_pick_caption() -> None:
    assert pick_caption("some words\nFig. 3 A map of the bay", "", "page") == "Fig. 3 A map of the bay"
    assert pick_caption("", "Table 2: costs", "page") == "Table 2: costs"
    assert pick_caption("", "", "The page text here") == "The page text here"
    assert pick_caption("", "", "") == ""
    assert clean_text("hyphen-\nated\r\nline \x00") == "hyphenated\nline"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "truncated or corrupt"),
        (
            tiny_pdf(
                "/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] ",
                ("<< /Filter /Standard /V 1 /R 2 /O <" + "ab" * 32 + "> /U <" + "cd" * 32 + "> /P -4 >>",),
            ),
            "password-protected",
        ),
    ],
)
def test_bad_pdfs_raise(tmp_path: Path, content: bytes, match: str) -> None:
    p = tmp_path / "bad.pdf"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=match) as err:
        list(PdfLoader().load(p, IngestConfig()))
    assert err.value.source == str(p)


def test_blank_page_gives_nothing(tmp_path: Path) -> None:
    p = tmp_path / "blank.pdf"
    p.write_bytes(tiny_pdf())
    assert list(PdfLoader().load(p, IngestConfig())) == []


def test_truncated_pdf_from_a_real_one(report_pdf: Path, tmp_path: Path) -> None:
    data = report_pdf.read_bytes()
    p = tmp_path / "half.pdf"
    p.write_bytes(data[: len(data) // 3])
    try:
        segs = list(PdfLoader().load(p, IngestConfig()))
    except IngestError as exc:
        assert exc.source == str(p)
    else:  # pdfium may rebuild the xref of a cut file: then whatever it recovered must be well-formed
        assert all(s.span.page is not None and s.span.page >= 1 for s in segs)


def test_a_page_with_a_few_words_is_indexed_by_them(tmp_path: Path) -> None:
    """A title page, a one-line slide exported to PDF, a chart under its title: fewer than MIN_TEXT_CHARS of text
    first sends the page to OCR (it may be a scan); when OCR finds no more, the page's own few words are its text
    (they were dropped: "no content found"). A page number alone is not text; a chart keeps its picture too."""
    pdf = pdfium.PdfDocument.new()
    title = pdf.new_page(612, 792)
    add_text(pdf, title, "Annual Report 2024", 200, 400, 28)  # 18 characters
    title.gen_content()
    number = pdf.new_page(612, 792)
    add_text(pdf, number, "3", 300, 40)
    number.gen_content()
    chart = pdf.new_page(300, 300)
    add_text(pdf, chart, "Fog horn repairs", 40, 270)
    add_bars(chart)
    chart.gen_content()
    path = tmp_path / "short.pdf"
    pdf.save(str(path))
    segs = list(PdfLoader().load(path, IngestConfig()))
    by_page = {p: [(s.modality, s.text) for s in segs if s.span.page == p] for p in (1, 2, 3)}
    assert by_page[1] == [(Modality.TEXT, "Annual Report 2024")]
    assert by_page[2] == []  # "3": no words
    assert (Modality.TEXT, "Fog horn repairs") in by_page[3]
    assert [t for m, t in by_page[3] if m is Modality.IMAGE] == ["Fog horn repairs"]  # the chart, under its title
    assert has_words("test example") and has_words("東京") and not has_words("p. 3") and not has_words("A\nB\nC")


def test_running_heads_and_feet_are_kept_once_not_on_every_page(tmp_path: Path) -> None:
    """A report's title at the top and "Page N of 4" at the foot of every page filled every chunk and every quoted
    answer; they are read on the first page only. A two-page letter keeps all its lines."""
    pdf = pdfium.PdfDocument.new()
    bodies = ["Revenue grew in the north.", "Costs fell after the move.", "Hiring paused in March.", "The outlook is stable."]
    for n, body in enumerate(bodies, 1):
        page = pdf.new_page(400, 500)
        add_text(pdf, page, "ACME Quarterly Review", 40, 460, 12)
        add_text(pdf, page, body, 40, 300)
        add_text(pdf, page, f"Page {n} of 4", 160, 30, 10)
        page.gen_content()
    path = tmp_path / "review.pdf"
    pdf.save(str(path))
    pages = {s.span.page: s.text or "" for s in PdfLoader().load(path, IngestConfig(ocr=False)) if s.modality == Modality.TEXT}
    assert sorted(pages) == [1, 2, 3, 4]
    assert "ACME Quarterly Review" in pages[1] and "Page 1 of 4" in pages[1]
    for n in (2, 3, 4):
        assert "ACME" not in pages[n] and "Page" not in pages[n] and bodies[n - 1] in pages[n], pages[n]

    letter = pdfium.PdfDocument.new()
    for n in (1, 2):
        page = letter.new_page(400, 500)
        add_text(letter, page, "ACME Quarterly Review", 40, 460, 12)
        add_text(letter, page, bodies[n], 40, 300)
        page.gen_content()
    letter.save(str(tmp_path / "letter.pdf"))
    texts = [s.text or "" for s in PdfLoader().load(tmp_path / "letter.pdf", IngestConfig(ocr=False))]
    assert all("ACME Quarterly Review" in t for t in texts)


def test_a_chapters_running_head_goes_too_but_not_a_line_that_ends_two_pages() -> None:
    from mmrag.ingest.pdf import running_keys

    pages = []
    for n in range(1, 10):
        chapter = ("Chapter 1: Soil", "Chapter 2: Water", "Chapter 3: Light")[(n - 1) // 3]
        last = "Water them at dawn." if n in (4, 5) else f"Body text of page {n} ends here, differently {'x' * n}."
        pages.append(f"{chapter} {n}\nThe body of page {n} says something of its own, {'y' * n}.\n{last}")
    keys = running_keys(pages)  # each chapter's head is on 3 of 9 pages (33 %), in a row
    assert {"chapter #: soil #", "chapter #: water #", "chapter #: light #"} <= keys
    assert "water them at dawn." not in keys  # two pages only
    assert running_keys(pages[:2]) == frozenset()  # too few pages to tell
