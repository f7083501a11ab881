"""E-books (``.epub``): each section of the reading order with its words, tables and pictures.

An EPUB is a ZIP package: ``META-INF/container.xml`` names the package document (OPF), whose
``spine`` lists the XHTML sections in reading order. Each section is read as an HTML page
(``text.html_to_text``: visible text, its title), its data tables as typed rows, and its
``<img>`` pictures through the image tower (caption: alt text and the section's title). A hit reads
``book.epub section 7 “Chapter VII”`` (``meta.section_title``: the section's first heading, else
its ``<title>``); the book's title
is the OPF's ``dc:title``. XML is read with defusedxml.

Refused with a reason: a book whose sections are encrypted (DRM; font obfuscation alone is fine),
one without a readable package document, a ZIP bomb (``office.check_package``).
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mmrag.config import IngestConfig
from mmrag.errors import IngestError
from mmrag.ingest.office import SlideParts, alt_words, deck_segments, prepare
from mmrag.types import Segment

log = logging.getLogger(__name__)
CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
# font obfuscation (IDPF, Adobe): not DRM, the text is readable
_FONT_MANGLING = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
_XHTML = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}
MAX_SECTION_MB = 20  # a section larger than this is skipped (a hostile or broken book)
MAX_PICTURE_MB = 50


class _Section(HTMLParser):
    """A section's first heading (``h1``-``h3``) and the ``(src, alt)`` of each ``<img>`` (and SVG
    ``<image>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self.heading = ""
        self._in_heading = False
        self._words: list[str] = []

    def handle_endtag(self, tag: str) -> None:
        if self._in_heading and tag in ("h1", "h2", "h3"):
            self._in_heading = False
            self.heading = " ".join(" ".join(self._words).split())

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self._words.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag in ("h1", "h2", "h3") and not self.heading and not self._in_heading:
            self._in_heading, self._words = True, []
        elif tag == "img" and a.get("src"):
            self.found.append((a["src"], a.get("alt", "") or a.get("title", "")))
        elif tag == "image":
            href = a.get("xlink:href") or a.get("href")
            if href:
                self.found.append((href, ""))

    handle_startendtag = handle_starttag


def spine_paths(container_xml: bytes, read: Any) -> tuple[str, list[str]]:
    """``(title, section paths in reading order)`` from ``container.xml``;
    ``read(path) -> bytes`` reads a package part. Raises ``ValueError`` with the reason."""
    from defusedxml import ElementTree

    container = ElementTree.fromstring(container_xml)
    rootfile = container.find(f".//{{{CONTAINER}}}rootfile")
    opf_path = rootfile.get("full-path", "") if rootfile is not None else ""
    if not opf_path:
        raise ValueError("META-INF/container.xml names no package document")
    opf = ElementTree.fromstring(read(opf_path))
    base = posixpath.dirname(opf_path)
    title_el = opf.find(f".//{{{DC}}}title")
    title = " ".join((title_el.text or "").split()) if title_el is not None else ""
    items: dict[str, tuple[str, str]] = {}
    for item in opf.iterfind(f".//{{{OPF}}}manifest/{{{OPF}}}item"):
        href = unquote(item.get("href", ""))
        if href:
            items[item.get("id", "")] = (posixpath.normpath(posixpath.join(base, href)), item.get("media-type", ""))
    order = [items[ref.get("idref", "")] for ref in opf.iterfind(f".//{{{OPF}}}spine/{{{OPF}}}itemref")
             if ref.get("idref", "") in items]
    sections = [path for path, media in order if media in _XHTML]
    return title, sections


def encrypted_parts(encryption_xml: bytes) -> set[str]:
    """Package paths encrypted by something other than font obfuscation (DRM) (pure)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(encryption_xml)
    out: set[str] = set()
    for data in root.iter():
        if not data.tag.endswith("}EncryptedData"):
            continue
        method = next((e.get("Algorithm", "") for e in data.iter() if e.tag.endswith("}EncryptionMethod")), "")
        ref = next((e.get("URI", "") for e in data.iter() if e.tag.endswith("}CipherReference")), "")
        if ref and method not in _FONT_MANGLING:
            out.add(posixpath.normpath(unquote(ref)))
    return out


def section_parts(markup: str, section: str, package: zipfile.ZipFile) -> SlideParts:
    """One section: its title, paragraphs, data tables and pictures."""
    from mmrag.ingest.tables import html_tables
    from mmrag.ingest.text import html_to_text, read_html

    text, meta = html_to_text(markup)
    lines = [line for line in (" ".join(x.split()) for x in text.split("\n")) if line]
    images = _Section()
    with contextlib.suppress(Exception):  # html.parser is lenient; a broken section just has fewer pictures
        read_html(images, markup)
    title = images.heading or meta.get("title", "")  # a chapter's heading says more than its <title> (often the book's)
    if lines and title and lines[0] == title:
        lines = lines[1:]  # the heading is the title, written first by deck_segments
    pictures: list[tuple[bytes, str]] = []
    for src, alt in images.found:
        if "://" in src or src.startswith(("data:", "/")):
            continue  # outside the package
        path = posixpath.normpath(posixpath.join(posixpath.dirname(section), unquote(src.split("#")[0])))
        try:
            info = package.getinfo(path)
            if info.file_size <= MAX_PICTURE_MB * 2**20:
                pictures.append((package.read(info), alt_words(alt)))
        except (KeyError, zipfile.BadZipFile, OSError):
            continue
    return SlideParts(title, lines, html_tables(markup), pictures)


class EpubLoader:
    """Loader for the ``epub`` kind."""

    kinds: tuple[str, ...] = ("epub",)

    def load(self, path: Path, config: IngestConfig) -> Iterator[Segment]:
        path = Path(path)
        source = str(path)
        prepare(path, config, "e-book")
        from defusedxml import DefusedXmlException

        with zipfile.ZipFile(path) as package:
            try:
                title, sections = spine_paths(package.read("META-INF/container.xml"), package.read)
                names = set(package.namelist())
                locked = encrypted_parts(package.read("META-INF/encryption.xml")) if "META-INF/encryption.xml" in names else set()
            except DefusedXmlException as exc:
                raise IngestError(source, f"refused: its package XML declares entities or external references ({type(exc).__name__}), "
                                          "a known attack on XML readers") from None
            except (KeyError, ValueError, SyntaxError) as exc:  # ParseError is a SyntaxError
                raise IngestError(source, f"not a readable e-book ({type(exc).__name__}: {exc}); "
                                          "it may be damaged: open and save it again, or convert it (e.g. with Calibre)") from None
            if locked & set(sections):
                raise IngestError(source, "the book is encrypted (DRM): its text cannot be read; "
                                          "add a copy without DRM, or a PDF you may read")
            if not sections:
                raise IngestError(source, "the e-book's reading order (spine) lists no sections")
            # section by section: a book's pictures are not all held at once
            yield from deck_segments(path, (self._section(package, name, source) for name in sections), "epub", title,
                                     config, unit="section")

    def _section(self, package: zipfile.ZipFile, name: str, source: str) -> SlideParts | None:
        try:
            info = package.getinfo(name)
            if info.file_size > MAX_SECTION_MB * 2**20:
                log.warning("%s: section %s skipped: %d MB", source, name, info.file_size // 2**20)
                return None
            from mmrag.ingest.text import decode_text

            markup, _ = decode_text(package.read(info))
            return section_parts(markup, name, package)
        except Exception as exc:  # noqa: BLE001 - one damaged section: the rest of the book still lands
            log.warning("%s: section %s skipped: %s: %s", source, name, type(exc).__name__, exc)
            return None


__all__ = ["EpubLoader", "encrypted_parts", "section_parts", "spine_paths"]
