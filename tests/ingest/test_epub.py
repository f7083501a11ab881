"""E-books: the reading order (spine), each section's words, tables and pictures; DRM refused.

The books are packaged here as EPUB 3 requires (``mimetype`` stored first, ``META-INF/container.xml``,
an OPF package document with a manifest and a spine, XHTML sections).
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
from mmrag.ingest.epub import EpubLoader, encrypted_parts
from mmrag.ingest.sources import sniff_reason
from mmrag.types import Hit, Modality

CONTAINER = ('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             "</rootfiles></container>")
OPF = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
       '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>The Lighthouse Book</dc:title></metadata>'
       "<manifest>"
       '<item id="c2" href="text/ch%202.xhtml" media-type="application/xhtml+xml"/>'
       '<item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/>'
       '<item id="css" href="style.css" media-type="text/css"/>'
       '<item id="img" href="images/lamp.png" media-type="image/png"/>'
       "</manifest><spine><itemref idref=\"c1\"/><itemref idref=\"c2\"/></spine></package>")
CH1 = ('<html xmlns="http://www.w3.org/1999/xhtml"><head><title>The Lighthouse Book</title></head><body>'
       "<h1>Chapter 1 The Keeper</h1><p>The keeper climbs the stairs at dusk.</p>"
       '<p><img src="../images/lamp.png" alt="The great lamp"/></p></body></html>')
CH2 = ('<html xmlns="http://www.w3.org/1999/xhtml"><head><title>The Lighthouse Book</title></head><body>'
       "<h2>Chapter 2 Supplies</h2><p>Oil arrives by boat every month.</p>"
       "<table><tr><th>Item</th><th>Barrels</th></tr><tr><td>Oil</td><td>12</td></tr></table></body></html>")


def _png() -> bytes:
    arr = np.zeros((90, 120, 3), dtype=np.uint8)
    arr[:, :60] = (240, 200, 20)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def write_epub(path: Path, opf: str = OPF, extra: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # stored, first
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/text/ch1.xhtml", CH1)
        z.writestr("OEBPS/text/ch 2.xhtml", CH2)
        z.writestr("OEBPS/images/lamp.png", _png())
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def test_sections_in_reading_order_with_headings_tables_and_pictures(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "lighthouse.epub")
    assert sniff_reason(path) == ("epub", "")
    segs = list(EpubLoader().load(path, IngestConfig()))
    texts = [s for s in segs if s.modality is Modality.TEXT and "row" not in s.meta]
    assert [(s.span.page, s.text) for s in texts] == [
        (1, "# Chapter 1 The Keeper\n\nThe keeper climbs the stairs at dusk."),
        (2, "# Chapter 2 Supplies\n\nOil arrives by boat every month.\n\nItem | Barrels\n\nOil | 12"),
    ]  # the spine's order, not the manifest's; a section's heading, not its <title> (the book's)
    assert texts[0].meta["title"] == "The Lighthouse Book" and texts[0].meta["section_title"] == "Chapter 1 The Keeper"
    rows = [s for s in segs if s.meta.get("row")]
    assert [r.fields for r in rows] == [{"item": "Oil", "barrels": 12}] and rows[0].span.page == 2
    picture = next(s for s in segs if s.modality is Modality.IMAGE)
    assert picture.span.page == 1 and picture.text == "The great lamp Chapter 1 The Keeper"
    assert np.asarray(picture.image)[:, :20].mean(axis=(0, 1))[0] > 200
    hit = Hit(segment_id="x", source="lighthouse.epub", modality=Modality.TEXT, span=texts[1].span, score=1.0,
              meta=texts[1].meta)
    assert hit.label() == "lighthouse.epub section 2 “Chapter 2 Supplies”"


ENCRYPTION = ('<?xml version="1.0"?><encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
              'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
              '<enc:EncryptionMethod Algorithm="{method}"/><enc:CipherData>'
              '<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>')


def test_drm_is_refused_but_font_obfuscation_is_not(tmp_path: Path) -> None:
    aes = ENCRYPTION.format(method="http://www.w3.org/2001/04/xmlenc#aes128-cbc", uri="OEBPS/text/ch1.xhtml")
    assert encrypted_parts(aes.encode()) == {"OEBPS/text/ch1.xhtml"}
    locked = write_epub(tmp_path / "locked.epub", extra={"META-INF/encryption.xml": aes})
    with pytest.raises(IngestError, match="encrypted \\(DRM\\)"):
        list(EpubLoader().load(locked, IngestConfig()))
    fonts = ENCRYPTION.format(method="http://www.idpf.org/2008/embedding", uri="OEBPS/fonts/serif.otf")
    mangled = write_epub(tmp_path / "fonts.epub", extra={"META-INF/encryption.xml": fonts})
    assert any("keeper climbs" in (s.text or "") for s in EpubLoader().load(mangled, IngestConfig()))


def test_hostile_or_broken_books_get_clear_errors(tmp_path: Path) -> None:
    xxe = OPF.replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    with pytest.raises(IngestError, match="declares entities or external references"):
        list(EpubLoader().load(write_epub(tmp_path / "xxe.epub", opf=xxe), IngestConfig()))
    hollow = tmp_path / "hollow.epub"
    with zipfile.ZipFile(hollow, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
    with pytest.raises(IngestError, match="not a readable e-book"):
        list(EpubLoader().load(hollow, IngestConfig()))
    no_spine = write_epub(tmp_path / "nospine.epub", opf=OPF.replace('<itemref idref="c1"/><itemref idref="c2"/>', ""))
    with pytest.raises(IngestError, match="lists no sections"):
        list(EpubLoader().load(no_spine, IngestConfig()))
