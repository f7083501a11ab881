"""Word documents and PowerPoint decks: sniffed by their parts, read in order, pictures and tables kept.

The files are written by python-docx / python-pptx (real packages, opened by the real loaders);
one is re-zipped in the part order Word and PowerPoint use, which ``filetype`` calls a plain ZIP.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.config import IngestConfig
from mmrag.engine import Engine
from mmrag.errors import IngestError
from mmrag.ingest.office import alt_words
from mmrag.ingest.slides import SlidesLoader
from mmrag.ingest.sources import sniff_reason
from mmrag.ingest.word import WordLoader, heading_level
from mmrag.markdown import as_shown
from mmrag.types import Hit, Modality

pytest.importorskip("docx")
pytest.importorskip("pptx")


def _picture(tmp_path: Path, name: str, color: tuple[int, int, int], size: tuple[int, int] = (120, 90)) -> Path:
    path = tmp_path / name
    arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    arr[:, : size[0] // 2] = color  # left half coloured, right half black
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture()
def report(tmp_path: Path) -> Path:
    import docx
    from docx.shared import Inches

    d = docx.Document()
    d.core_properties.title = "Quarterly report Q3"
    d.add_heading("Quarterly report", 0)
    d.add_heading("Revenue", 1)
    d.add_paragraph("Revenue grew 12% in the third quarter, driven by the Lisbon office.")
    d.add_paragraph("Hire two analysts", style="List Bullet")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Region", "Revenue"), ("Lisbon", "1200000"), ("Porto", "800000")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.add_picture(str(_picture(tmp_path, "chart.png", (200, 30, 30))), width=Inches(2))
    d.add_paragraph("Figure 1: revenue by region.")
    d.add_picture(str(_picture(tmp_path, "dot.png", (0, 0, 200), (16, 16))))  # an icon: left out
    d.add_heading("Costs", 1)
    d.add_paragraph("Costs fell after the move to the new building.")
    path = tmp_path / "report.docx"
    d.save(str(path))
    return path


@pytest.fixture()
def deck(tmp_path: Path) -> Path:
    import pptx
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    p = pptx.Presentation()
    s1 = p.slides.add_slide(p.slide_layouts[1])
    s1.shapes.title.text = "Budget 2025"
    s1.placeholders[1].text = "Travel budget is cut by half.\nHiring continues."
    s1.notes_slide.notes_text_frame.text = "Mention the freeze on new laptops."
    s2 = p.slides.add_slide(p.slide_layouts[5])
    s2.shapes.title.text = "Revenue by region"
    pic = s2.shapes.add_picture(str(_picture(tmp_path, "photo.png", (30, 160, 30))), Inches(1), Inches(2))
    pic._element.xpath("./p:nvPicPr/p:cNvPr")[0].set("descr", "A green field at dawn")
    data = CategoryChartData()
    data.categories = ["Lisbon", "Porto"]
    data.add_series("2024", (1.2, 0.8))
    s2.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(5), Inches(2), Inches(4), Inches(3), data)
    group = s2.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1))
    box.text_frame.text = "Source: finance team"
    s3 = p.slides.add_slide(p.slide_layouts[5])
    s3.shapes.title.text = "Offices"
    rows = [("Office", "Staff"), ("Lisbon", "40"), ("Porto", "25")]
    tbl = s3.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(4), Inches(2)).table
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            tbl.cell(r, c).text = value
    p.slides.add_slide(p.slide_layouts[6])  # a blank slide: nothing from it
    path = tmp_path / "deck.pptx"
    p.save(str(path))
    return path


def test_pure_helpers() -> None:
    assert heading_level("Title") == 1 and heading_level("Heading 3") == 3 and heading_level("Normal") == 0
    assert alt_words("Picture 3") == "" and alt_words("revenue_chart_2024.png") == "revenue chart"
    assert alt_words("  A green   field ") == "A green field"
    assert alt_words(r"C:\Users\ana\Temporary Internet Files\harbour_at_dawn.jpg") == "harbour at dawn"  # the path's last part


def test_word_document_text_tables_and_pictures(report: Path) -> None:
    assert sniff_reason(report) == ("docx", "")
    segs = list(WordLoader().load(report, IngestConfig()))
    texts = [s for s in segs if s.modality is Modality.TEXT and "row" not in s.meta]
    body = "\n".join(s.text or "" for s in texts)
    assert body.startswith("# Quarterly report\n\n# Revenue\n\nRevenue grew 12% in the third quarter")
    assert "- Hire two analysts" in body and "Region | Revenue\nLisbon | 1200000" in body
    assert body.index("Revenue grew") < body.index("Lisbon | 1200000") < body.index("# Costs")  # reading order
    assert texts[0].meta["title"] == "Quarterly report Q3" and texts[0].meta["format"] == "docx"
    rows = [s for s in segs if s.meta.get("row")]
    assert [r.fields for r in rows] == [{"region": "Lisbon", "revenue": 1200000}, {"region": "Porto", "revenue": 800000}]
    pictures = [s for s in segs if s.modality is Modality.IMAGE]
    assert len(pictures) == 1  # the 16 px icon is left out
    fig = pictures[0]
    assert fig.text == "Figure 1: revenue by region." and fig.meta["figure"] == "1" and fig.thumbnail
    left, right = np.asarray(fig.image)[:, :10].mean(axis=(0, 1)), np.asarray(fig.image)[:, -10:].mean()
    assert left[0] > 150 and right < 10  # the picture's pixels
    hit = Hit(segment_id="x", source=str(report), modality=Modality.IMAGE, span=fig.span, score=1.0, meta=fig.meta)
    assert hit.label() == f"{report} fig. 1"


_TEXT_BOX = (  # a floating text box as Word 2010+ writes it: a drawing, and the same box again as VML for old readers
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    ' xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"'
    ' xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    ' xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
    '<wp:docPr id="7" name="Text Box 7"/><a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
    "<wps:wsp><wps:txbx><w:txbxContent><w:p><w:r><w:t>The pier reopens in May.</w:t></w:r></w:p>"
    "<w:p><w:r><w:t>Ferries resume the same week.</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp>"
    "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>"
    "<w:p><w:r><w:t>The pier reopens in May.</w:t></w:r></w:p><w:p><w:r><w:t>Ferries resume the same week.</w:t></w:r></w:p>"
    "</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
)
_FOOTNOTES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    '<w:footnote w:id="1"><w:p><w:r><w:t>Source: the harbour authority survey of 2023.</w:t></w:r></w:p></w:footnote>'
    "</w:footnotes>"
)


def test_word_text_boxes_footnotes_comments_headers_and_footers_are_read_once_each(tmp_path: Path) -> None:
    import docx
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml.parser import parse_xml

    d = docx.Document()
    d.add_heading("Harbour news", 1)
    d.add_paragraph("Repairs to the north pier are nearly done.")._p.append(parse_xml(_TEXT_BOX))
    market = d.add_paragraph("The fish market moves to the east quay.")
    d.add_comment(market.runs, text="Confirm the date with the harbour master.", author="Ana Silva", initials="AS")
    d.sections[0].header.paragraphs[0].text = "Harbour Board newsletter"
    d.sections[0].footer.paragraphs[0].text = "3"  # a page number: no words
    d.add_section()  # a second section with the same (linked) header: read once
    d.add_paragraph("Second section text.")
    d.add_paragraph("# of guests: 12")  # a paragraph of words, not a heading: written escaped, shown as written
    if not any(str(p.partname) == "/word/footnotes.xml" for p in d.part.package.iter_parts()):
        notes = Part(PackURI("/word/footnotes.xml"), CONTENT_TYPE.WML_FOOTNOTES, _FOOTNOTES.encode(), d.part.package)
        d.part.relate_to(notes, RELATIONSHIP_TYPE.FOOTNOTES)
    path = tmp_path / "news.docx"
    d.save(str(path))

    segs = list(WordLoader().load(path, IngestConfig()))
    body = "\n".join(s.text or "" for s in segs if s.modality is Modality.TEXT)
    assert body.count("The pier reopens in May.") == 1 and body.count("Ferries resume") == 1  # the VML copy skipped
    # the box's lines stand after the paragraph it is anchored to, before the next one
    assert body.index("north pier") < body.index("The pier reopens") < body.index("Ferries resume") < body.index("fish market")
    assert "## Footnotes\n\n- Source: the harbour authority survey of 2023." in body
    assert body.count("Harbour Board newsletter") == 1 and "## Page headers and footers" in body
    assert "## Comments\n\n- Ana Silva: Confirm the date with the harbour master." in body
    assert body.index("Second section text.") < body.index("## Footnotes") < body.index("## Comments") < body.index("## Page headers")
    tail = body[body.index("## Page headers"):]
    assert "3" not in tail  # a bare page number is not indexed
    assert segs[0].meta["title"] == "Harbour news"
    assert "\n\\# of guests: 12\n" in body and "guests" not in "".join(str(s.meta.get("section", "")) for s in segs)
    assert as_shown(body).count("# of guests: 12") == 1


def test_deck_slides_in_order_with_notes_charts_groups_tables_and_pictures(deck: Path) -> None:
    assert sniff_reason(deck) == ("pptx", "")
    segs = list(SlidesLoader().load(deck, IngestConfig()))
    by_slide: dict[int, list] = {}
    for s in segs:
        by_slide.setdefault(s.span.page, []).append(s)
    assert sorted(by_slide) == [1, 2, 3]  # the blank fourth slide gives nothing
    one = [s for s in by_slide[1] if s.modality is Modality.TEXT]
    assert len(one) == 1 and one[0].text == (
        "# Budget 2025\n\nTravel budget is cut by half.\n\nHiring continues.\n\nNotes: Mention the freeze on new laptops."
    )
    assert one[0].meta["slide_title"] == "Budget 2025" and one[0].meta["page_unit"] == "slide"
    two_text = next(s for s in by_slide[2] if s.modality is Modality.TEXT)
    assert "Chart" not in two_text.text.split("\n")[0]  # the title comes first
    assert "2024: Lisbon 1.2, Porto 0.8" in two_text.text and "Source: finance team" in two_text.text
    picture = next(s for s in by_slide[2] if s.modality is Modality.IMAGE)
    assert picture.text == "A green field at dawn Revenue by region" and picture.meta["figure"] == "1"
    assert two_text.thumbnail == picture.thumbnail  # the slide's text shows its picture
    rows = [s for s in by_slide[3] if s.meta.get("row")]
    assert [r.fields for r in rows] == [{"office": "Lisbon", "staff": 40}, {"office": "Porto", "staff": 25}]
    hit = Hit(segment_id="x", source="deck.pptx", modality=Modality.IMAGE, span=picture.span, score=1.0, meta=picture.meta)
    assert hit.label() == "deck.pptx slide 2, fig. 1" and hit.where() == "slide 2"
    row_hit = Hit(segment_id="y", source="deck.pptx", modality=Modality.TEXT, span=rows[0].span, score=1.0, meta=rows[0].meta)
    assert row_hit.label().startswith("deck.pptx slide 3 table 1 row 1")


def _reordered(src: Path, dst: Path, main_part: str) -> Path:
    """The same package with the main part last, after 40 KB of other parts (as Office writes big files)."""
    with zipfile.ZipFile(src) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    items.sort(key=lambda it: it[0].filename == main_part)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as out:
        out.writestr("docProps/thumbnail.bin", np.random.default_rng(0).integers(0, 256, 40_000, dtype=np.uint8).tobytes())
        for info, data in items:
            out.writestr(info.filename, data)
    return dst


def test_packages_whose_main_part_comes_late_are_still_documents(report: Path, deck: Path, tmp_path: Path) -> None:
    """``filetype`` looks for ``word/`` or ``ppt/`` in the first bytes only; real files often start otherwise."""
    late_doc = _reordered(report, tmp_path / "late.docx", "word/document.xml")
    late_deck = _reordered(deck, tmp_path / "late.pptx", "ppt/presentation.xml")
    assert sniff_reason(late_doc) == ("docx", "") and sniff_reason(late_deck) == ("pptx", "")
    assert any("Revenue grew 12%" in (s.text or "") for s in WordLoader().load(late_doc, IngestConfig()))


def test_bad_packages_get_a_clear_error(report: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.docx"
    cut.write_bytes(report.read_bytes()[:3000])
    with pytest.raises(IngestError, match="not a readable Word document") as err:
        list(WordLoader().load(cut, IngestConfig()))
    assert err.value.source == str(cut)
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(report) as z, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info.filename))
        out.writestr("word/media/huge.bin", bytes(3_000_000))  # 3 MB of zeros, a few KB packed
    assert bomb.stat().st_size < 60_000
    with pytest.raises(IngestError, match="ZIP bomb"):
        list(WordLoader().load(bomb, IngestConfig(max_file_mb=0.1)))  # may unpack to 2 MB
    empty = tmp_path / "empty.docx"
    import docx

    docx.Document().save(str(empty))
    with pytest.raises(IngestError, match="no text or pictures"):
        list(WordLoader().load(empty, IngestConfig()))


def test_a_picture_pillow_cannot_draw_is_left_out_not_an_error(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("A page with a broken picture.")
    path = tmp_path / "pic.docx"
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, "PNG")
    d.add_picture(io.BytesIO(buf.getvalue()))
    d.save(str(path))
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    media = next(n for n in parts if n.startswith("word/media/"))
    parts[media] = b"\x89PNG\r\n\x1a\n" + bytes(40)  # a damaged picture part
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(broken, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    segs = list(WordLoader().load(broken, IngestConfig()))
    assert [s.modality for s in segs] == [Modality.TEXT] and "broken picture" in (segs[0].text or "")


def test_a_picture_nobody_described_has_its_files_words_not_the_word_slide(tmp_path: Path) -> None:
    """Its caption was "slide 1", so every query with "slide" in it ("the slide with the revenue chart")
    put the pictures nobody described first (seen on python-pptx's own test decks)."""
    import pptx
    from pptx.util import Inches

    deck = pptx.Presentation()
    pic = deck.slides.add_slide(deck.slide_layouts[6]).shapes.add_picture(
        str(_picture(tmp_path, "p.png", (200, 30, 30))), Inches(1), Inches(1))
    pic._element.xpath("./p:nvPicPr/p:cNvPr")[0].set("descr", "")  # python-pptx writes the file name there
    path = tmp_path / "harbour_photos.pptx"
    deck.save(str(path))
    (picture,) = [s for s in SlidesLoader().load(path, IngestConfig()) if s.modality is Modality.IMAGE]
    assert picture.text == "harbour photos"


def test_a_word_tables_row_is_the_answer_not_the_table_run_together(tmp_path: Path, extractive_engine: Engine) -> None:
    """Asked what a Word table's row holds, the answer quoted the whole table run into one line first ("Item |
    Supplier | Price Stapler | Papyrus Ltd | 12.50 Printer paper | ..."), then the row twice (as fields and as
    its text). Now the row, once, under the table's own column names (end to end: a real .docx, MiniLM,
    LanceDB, the extractive answer)."""
    import docx

    doc = docx.Document()
    doc.add_heading("Office supplies", 1)
    doc.add_paragraph("We order from three suppliers. Prices are per box.")
    table = doc.add_table(rows=4, cols=3)
    for r, row in enumerate([("Item", "Supplier", "Price"), ("Stapler", "Papyrus Ltd", "12.50"),
                             ("Printer paper", "Northmill", "31.00"), ("Whiteboard markers", "Inkwell", "8.75")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.add_paragraph("Orders over 100 euro ship free of charge.")
    doc.save(str(tmp_path / "supplies.docx"))
    extractive_engine.add([str(tmp_path / "supplies.docx")])
    paper = extractive_engine.ask("Who supplies the printer paper?")
    stapler = extractive_engine.ask("How much is a stapler?")
    assert paper.text.startswith("Printer paper — Supplier: Northmill; Price: 31.00 [1]."), paper.text
    assert paper.text.count("Northmill") == 1 and "Stapler" not in paper.text, paper.text
    assert paper.citations[0].hit.meta["kind"] == "table_row"
    assert stapler.text == "Stapler — Supplier: Papyrus Ltd; Price: 12.50 [1].", stapler.text
