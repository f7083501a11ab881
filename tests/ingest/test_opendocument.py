"""OpenDocument text and presentations, read from content.xml with defusedxml.

The packages are written here as an office suite writes them (``mimetype`` stored first, then
``content.xml``, ``meta.xml`` and ``Pictures/``), with the element names of the OpenDocument 1.3 schema.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.opendocument import OdpLoader, OdtLoader
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Hit, Modality

ROOT = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3">'
    "<office:body>{body}</office:body>"
    "</office:document-content>"
)
META = (
    '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><dc:title>{title}</dc:title></office:meta>'
    "</office:document-meta>"
)


def _png(color: tuple[int, int, int]) -> bytes:
    arr = np.zeros((90, 120, 3), dtype=np.uint8)
    arr[:, :60] = color
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def write_odf(path: Path, mimetype: str, body: str, title: str = "", pictures: dict[str, bytes] | None = None,
              mimetype_first: bool = True) -> Path:
    entries = [("content.xml", ROOT.format(body=body).encode()), ("meta.xml", META.format(title=title).encode())]
    entries += [(f"Pictures/{name}", data) for name, data in (pictures or {}).items()]
    mime = ("mimetype", mimetype.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in ([mime, *entries] if mimetype_first else [*entries, mime]):
            z.writestr(zipfile.ZipInfo(name) if name == "mimetype" else name, data)
    return path


TEXT_BODY = (
    "<office:text>"
    '<text:h text:outline-level="1">Harbour report</text:h>'
    "<text:p>The ferry<text:s/>to the island leaves at noon<text:tab/>from pier 3.<text:note><text:note-body>"
    "<text:p>Timetable of the port authority.</text:p></text:note-body></text:note></text:p>"
    "<text:list><text:list-item><text:p>Check the fog horn</text:p></text:list-item></text:list>"
    '<text:h text:outline-level="2">Boats</text:h>'
    "<table:table><table:table-row><table:table-cell><text:p>Boat</text:p></table:table-cell>"
    "<table:table-cell><text:p>Seats</text:p></table:table-cell></table:table-row>"
    "<table:table-row><table:table-cell><text:p>Gull</text:p></table:table-cell>"
    "<table:table-cell><text:p>40</text:p></table:table-cell></table:table-row></table:table>"
    '<text:p><draw:frame draw:name="Image1"><draw:image xlink:href="Pictures/harbour.png"/>'
    "<svg:desc>The harbour at dawn</svg:desc></draw:frame></text:p>"
    "<text:p>Illustration 1: the old pier.</text:p>"
    '<text:p>Fares rise in May.<text:note text:note-class="endnote"><text:note-body><text:p>Board decision 14.</text:p>'
    "</text:note-body></text:note><office:annotation><dc:creator>Rui Costa</dc:creator><dc:date>2025-03-01T10:00:00</dc:date>"
    "<text:p>Which month exactly?</text:p></office:annotation></text:p>"
    "</office:text>"
)

PRESENTATION_BODY = (
    "<office:presentation>"
    '<draw:page draw:name="page1">'
    '<draw:frame presentation:class="outline" svg:x="2cm" svg:y="5cm"><draw:text-box><text:p>Seats are free on Sundays.</text:p>'
    "</draw:text-box></draw:frame>"
    '<draw:frame presentation:class="title" svg:x="2cm" svg:y="1cm"><draw:text-box><text:p>Ferry fares</text:p>'
    "</draw:text-box></draw:frame>"
    "<presentation:notes><draw:frame><draw:text-box><text:p>Say that children ride free.</text:p></draw:text-box>"
    "</draw:frame></presentation:notes>"
    "</draw:page>"
    '<draw:page draw:name="page2">'
    '<draw:frame presentation:class="title" svg:x="2cm" svg:y="1cm"><draw:text-box><text:p>The new boat</text:p>'
    "</draw:text-box></draw:frame>"
    '<draw:frame svg:x="2cm" svg:y="4cm"><draw:image xlink:href="Pictures/boat.png"/><svg:title>A red boat</svg:title>'
    "</draw:frame>"
    "</draw:page>"
    "</office:presentation>"
)


def test_text_document_in_reading_order_with_tables_and_pictures(tmp_path: Path) -> None:
    path = write_odf(tmp_path / "report.odt", "application/vnd.oasis.opendocument.text", TEXT_BODY,
                     title="Harbour report 2025", pictures={"harbour.png": _png((200, 120, 30))})
    assert sniff_reason(path) == ("odt", "")
    segs = list(OdtLoader().load(path, IngestConfig()))
    texts = [s for s in segs if s.modality is Modality.TEXT and "row" not in s.meta]
    text = texts[0]
    assert len(texts) == 2 and texts[1].text.startswith("## Endnotes")  # a section after 40 words: a chunk of its own
    assert "\n\n".join(t.text for t in texts) == (
        "# Harbour report\n\nThe ferry to the island leaves at noon from pier 3.\n\n- Check the fog horn\n\n"
        "## Boats\n\nBoat | Seats\nGull | 40\n\nIllustration 1: the old pier.\n\nFares rise in May.\n\n"
        "## Footnotes\n\n- Timetable of the port authority.\n\n## Endnotes\n\n- Board decision 14.\n\n"
        "## Comments\n\n- Rui Costa: Which month exactly?"
    )  # notes at the end, not inside their sentence; the picture's description is its caption, not body text
    assert text.meta["title"] == "Harbour report 2025"
    rows = [s for s in segs if s.meta.get("row")]
    assert [r.fields for r in rows] == [{"boat": "Gull", "seats": 40}]
    picture = next(s for s in segs if s.modality is Modality.IMAGE)
    assert picture.text == "Illustration 1: the old pier. The harbour at dawn" and picture.meta["figure"] == "1"
    assert np.asarray(picture.image)[:, :20].mean(axis=(0, 1))[0] > 150  # its pixels


def test_presentation_slides_title_first_notes_last_and_pictures(tmp_path: Path) -> None:
    path = write_odf(tmp_path / "fares.odp", "application/vnd.oasis.opendocument.presentation", PRESENTATION_BODY,
                     pictures={"boat.png": _png((220, 20, 20))}, mimetype_first=False)  # found by its parts too
    assert sniff_reason(path) == ("odp", "")
    segs = list(OdpLoader().load(path, IngestConfig()))
    first = [s for s in segs if s.span.page == 1]
    assert [s.text for s in first] == ["# Ferry fares\n\nSeats are free on Sundays.\n\nNotes: Say that children ride free."]
    picture = next(s for s in segs if s.modality is Modality.IMAGE)
    assert picture.span.page == 2 and picture.text == "A red boat The new boat"
    hit = Hit(segment_id="x", source="fares.odp", modality=Modality.IMAGE, span=picture.span, score=1.0, meta=picture.meta)
    assert hit.label() == "fares.odp slide 2, fig. 1"


def test_hostile_and_broken_packages_get_clear_errors(tmp_path: Path) -> None:
    xxe = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&e;'
           "</office:document-content>")
    path = tmp_path / "nasty.odt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", xxe)
    with pytest.raises(IngestError, match="declares entities or external references"):
        list(OdtLoader().load(path, IngestConfig()))
    empty = write_odf(tmp_path / "empty.odt", "application/vnd.oasis.opendocument.text", "<office:text/>")
    with pytest.raises(IngestError, match="no text or pictures in this OpenDocument text"):
        list(OdtLoader().load(empty, IngestConfig()))
    no_content = tmp_path / "hollow.odp"
    with zipfile.ZipFile(no_content, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.presentation")
    with pytest.raises(IngestError, match="has no content.xml"):
        list(OdpLoader().load(no_content, IngestConfig()))


def test_hostile_nesting_is_bounded_not_a_recursion_error(tmp_path: Path) -> None:
    deep = "<text:list><text:list-item>" * 3000 + "<text:p>deep</text:p>" + "</text:list-item></text:list>" * 3000
    body = f"<office:text><text:p>Top line.</text:p>{deep}</office:text>"
    path = write_odf(tmp_path / "deep.odt", "application/vnd.oasis.opendocument.text", body)
    (seg,) = list(OdtLoader().load(path, IngestConfig()))
    assert seg.text == "Top line."  # what lies below the nesting limit is not read


def flat(mimetype: str, body: str, title: str = "") -> str:
    """A flat OpenDocument file: the root ``office:document``, its meta and body in one XML document."""
    root = ROOT.replace("office:document-content", "office:document").replace('office:version="1.3"',
                                                                            f'office:version="1.3" office:mimetype="{mimetype}"')
    return root.format(body=body).replace("<office:body>", META.split("<office:meta>")[1].split("</office:document-meta>")[0]
                                          .join(["<office:meta>", ""]).format(title=title) + "<office:body>")


def test_flat_opendocument_files_are_read_like_packages(tmp_path: Path) -> None:
    real = Path(__file__).resolve().parents[1] / "data" / "odf" / "images.fodt"  # written by LibreOffice
    assert sniff_reason(real) == ("odt", "")
    segs = list(OdtLoader().load(real, IngestConfig()))
    assert [(s.modality, s.text) for s in segs] == [(Modality.TEXT, "aaa\n\nbbb\n\nccc"), (Modality.IMAGE, "bbb"), (Modality.IMAGE, "ccc")]
    assert [s.image.size for s in segs[1:]] == [(1024, 768), (1024, 512)]  # 1280 x 960 and 1920 x 960, from the base64
    boat = _png((220, 20, 20))
    import base64

    body = PRESENTATION_BODY.replace('<draw:image xlink:href="Pictures/boat.png"/>',
                                     f"<draw:image><office:binary-data>{base64.b64encode(boat).decode()}</office:binary-data></draw:image>")
    deck = tmp_path / "fares.fodp"
    deck.write_text(flat("application/vnd.oasis.opendocument.presentation", body, title="Fares"))
    assert sniff_reason(deck) == ("odp", "")
    slides = list(OdpLoader().load(deck, IngestConfig()))
    assert [s.span.page for s in slides] == [1, 2, 2] and slides[0].meta["title"] == "Fares"
    assert slides[2].modality is Modality.IMAGE and slides[2].text == "A red boat The new boat"
    sheet = tmp_path / "budget.fods"
    sheet.write_text(flat("application/vnd.oasis.opendocument.spreadsheet", "<office:spreadsheet/>"))
    kind, reason = sniff_reason(sheet)
    assert kind is None and "flat OpenDocument spreadsheet" in reason and ".ods" in reason
    nasty = tmp_path / "nasty.fodt"
    nasty.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                     + flat("application/vnd.oasis.opendocument.text", "<office:text><text:p>&e;</text:p></office:text>"))
    with pytest.raises(IngestError, match="declares entities or external references"):
        list(OdtLoader().load(nasty, IngestConfig()))
    cut = tmp_path / "cut.fodt"
    cut.write_bytes(real.read_bytes()[:5000])
    assert sniff_reason(cut) == ("odt", "")
    with pytest.raises(IngestError, match="not a readable flat OpenDocument text"):
        list(OdtLoader().load(cut, IngestConfig()))


def test_page_headers_and_footers_come_last_without_their_page_fields(tmp_path: Path) -> None:
    real = Path(__file__).resolve().parents[1] / "data" / "odf" / "headerfooter.odt"  # odfpy's example
    text = "\n".join(s.text or "" for s in OdtLoader().load(real, IngestConfig()))
    assert text.endswith("## Page headers and footers\n\nHeader Test\n\nFooter Bottom")  # "1" (page, count) dropped
    from defusedxml import ElementTree

    from mmrag.ingest.opendocument import page_headers

    styles = ElementTree.fromstring(
        '<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:master-styles>'
        '<style:master-page style:name="Standard"><style:header><text:p>Harbour Board</text:p></style:header>'
        "<style:footer-left><text:p><text:page-number>3</text:page-number></text:p></style:footer-left></style:master-page>"
        '<style:master-page style:name="Landscape"><style:header><text:p>Harbour Board</text:p></style:header>'
        "<style:footer><text:p>Confidential <text:date>2 May 2024</text:date></text:p></style:footer></style:master-page>"
        "</office:master-styles></office:document-styles>")
    assert page_headers(styles) == ["Harbour Board", "Confidential"]  # once each; a bare page number left out
    assert page_headers(None) == []


CHART = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:chart="urn:oasis:names:tc:opendocument:xmlns:chart:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:chart><chart:chart>'
    "<chart:title><text:p>Fares by season</text:p></chart:title><chart:plot-area>"
    '<chart:axis chart:dimension="x"><chart:categories table:cell-range-address="local-table.$A$2:.$A$3"/></chart:axis>'
    '<chart:series chart:values-cell-range-address="local-table.$B$2:.$B$3" chart:label-cell-address="local-table.$B$1"/>'
    '</chart:plot-area><table:table table:name="local-table">'
    '<table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>Adult</text:p></table:table-cell></table:table-row>'
    '<table:table-row><table:table-cell office:value-type="string"><text:p>Summer</text:p></table:table-cell>'
    '<table:table-cell office:value-type="float" office:value="4.5"><text:p>4.5</text:p></table:table-cell></table:table-row>'
    '<table:table-row><table:table-cell office:value-type="string"><text:p>Winter</text:p></table:table-cell>'
    '<table:table-cell office:value-type="float" office:value="NaN"><text:p/></table:table-cell></table:table-row>'
    "</table:table></chart:chart></office:chart></office:body></office:document-content>"
)


def test_embedded_charts_are_read_as_words_where_they_stand(tmp_path: Path) -> None:
    from defusedxml import ElementTree

    from mmrag.ingest.opendocument import chart_lines

    assert chart_lines(ElementTree.fromstring(CHART)) == ["Chart: Fares by season", "Adult: Summer 4.5"]  # NaN: no value
    real = Path(__file__).resolve().parents[1] / "data" / "odf" / "chart.odt"  # LibreOffice, odfdo's sample
    segs = list(OdtLoader().load(real, IngestConfig()))
    assert [s.text for s in segs] == [("Some text\n\nColumn 2: Row 1 10, Row 2 30, Row 3 50, Row 4 9.02\n"
                                       "Column 3: Row 1 20, Row 2 40, Row 3 360, Row 4 6.2")]
    # a flat presentation keeps the chart inside its frame: read as words, its data table not read as the slide's
    inner = CHART.replace("office:document-content", "office:document")
    body = ('<office:presentation><draw:page draw:name="p1"><draw:frame presentation:class="title"><draw:text-box>'
            "<text:p>Fares</text:p></draw:text-box></draw:frame>"
            f'<draw:frame svg:x="1cm" svg:y="3cm"><draw:object>{inner}</draw:object></draw:frame></draw:page></office:presentation>')
    deck = tmp_path / "fares.fodp"
    deck.write_text(flat("application/vnd.oasis.opendocument.presentation", body))
    assert [s.text for s in OdpLoader().load(deck, IngestConfig())] == ["# Fares\n\nChart: Fares by season\n\nAdult: Summer 4.5"]


def test_a_package_with_a_damaged_directory_is_one_clear_error(tmp_path: Path) -> None:
    """Found by fuzzing: a part name that is not UTF-8 made zipfile raise UnicodeDecodeError (and an unknown
    compression method NotImplementedError, a cut stream zlib.error), which escaped the loaders as other
    exceptions; each is now the loader's one IngestError for the file."""
    real = (Path(__file__).resolve().parents[1] / "data" / "odf" / "chart.odt").read_bytes()
    bad_name = tmp_path / "chart.odt"
    bad_name.write_bytes(real.replace(b"Configurations2/progressbar/", b"Configurations2/progress\xd3ar/"))
    with pytest.raises(IngestError, match="its ZIP package is damaged or truncated"):
        list(OdtLoader().load(bad_name, IngestConfig()))
