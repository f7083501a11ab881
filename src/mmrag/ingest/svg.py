"""SVG helpers for ``image.SvgLoader``: safe metadata parsing and rendering.

Metadata (``<title>``, ``<desc>``, Dublin Core ``dc:title`` /
``dc:description`` / ``dc:subject`` keywords as Open Clip Art and Inkscape
write them, and the words in ``<text>`` elements) is read with defusedxml:
no external entities, no entity expansion. Rendering uses resvg (Rust, no
network) at a bounded size; references to files outside the drawing
(``href`` not ``#...``/``data:``) are removed first so a drawing cannot pull
local files into the index.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, MissingDependency, UnsupportedFile

MAX_SVG_BYTES = 50 * 2**20  # decompressed markup
MIN_RENDER = 512  # small icons are rendered up to this long side
MAX_TEXT_CHARS = 2000
_DEFAULT_SIZE = (100.0, 100.0)
_UNITS = {
    "": 1.0,
    "px": 1.0,
    "pt": 4 / 3,
    "pc": 16.0,
    "mm": 96 / 25.4,
    "cm": 96 / 2.54,
    "in": 96.0,
    "em": 16.0,
    "ex": 8.0,
}
_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-z%]*)\s*$")
_EXTERNAL_HREF = re.compile(r"""((?:xlink:)?href\s*=\s*)(["'])(?!\s*(?:#|data:))[^"']*\2""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DC = "{http://purl.org/dc/elements/1.1/}"


@dataclass(frozen=True)
class SvgInfo:
    title: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    text: str = ""
    width: float = _DEFAULT_SIZE[0]
    height: float = _DEFAULT_SIZE[1]


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _words(el: Any) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def parse_length(value: str | None) -> float | None:
    """``"400pt"`` -> 533.3 px; ``None`` for missing, percentages or nonsense."""
    m = _LENGTH.match(value or "")
    if not m or m.group(2) not in _UNITS:
        return None
    px = float(m.group(1)) * _UNITS[m.group(2)]
    return px if px > 0 else None


def natural_size(attrs: dict[str, str]) -> tuple[float, float]:
    """Size in px from ``width``/``height``, else ``viewBox``, else 100x100."""
    w, h = parse_length(attrs.get("width")), parse_length(attrs.get("height"))
    box = [float(x) for x in re.findall(r"-?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?", attrs.get("viewBox", ""))]
    vw, vh = (box[2], box[3]) if len(box) == 4 and box[2] > 0 and box[3] > 0 else (None, None)
    if w and h:
        return w, h
    if vw and vh:
        if w:
            return w, w * vh / vw
        if h:
            return h * vw / vh, h
        return vw, vh
    return w or _DEFAULT_SIZE[0], h or _DEFAULT_SIZE[1]


def parse_svg(data: bytes, source: str) -> SvgInfo:
    """Metadata and size; ``UnsupportedFile`` if the root is not ``<svg>``.

    Files that declare XML entities (Adobe Illustrator does) are not expanded
    here: they get no metadata but still render (resvg caps entity expansion).
    """
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import ParseError, fromstring
    except ImportError:
        raise MissingDependency("defusedxml", "all", "reading SVG metadata") from None
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:  # entities declared: size from the raw <svg ...> tag only
        tag = re.search(rb"<svg\b[^>]*>", data[:65536])
        attrs = (
            dict(re.findall(r"""([\w:]+)\s*=\s*["']([^"']*)["']""", tag.group(0).decode("latin-1")))
            if tag
            else {}
        )
        return SvgInfo(None, None, (), "", *natural_size(attrs))
    except ParseError as exc:
        raise IngestError(source, f"not well-formed SVG/XML ({exc}); fix or re-export the drawing") from None
    if _local(root.tag) != "svg":
        raise UnsupportedFile(
            source, f"XML root is <{_local(root.tag)}>, not <svg>: not a drawing mmrag indexes"
        )
    title = desc = None
    for child in root:
        name = _local(child.tag)
        if name == "title" and title is None:
            title = _words(child) or None
        elif name == "desc" and desc is None:
            desc = _words(child) or None
    # Dublin Core of the work itself (cc:Work / rdf:Description), not of its creator agents.
    owner = None
    for el in root.iter():
        name = _local(el.tag)
        if name == "Work" or (name == "Description" and el.find(_DC + "title") is not None):
            owner = el
            break
    keywords: list[str] = []
    if owner is not None:
        title = title or _words(owner.find(_DC + "title")) or None
        desc = desc or _words(owner.find(_DC + "description")) or None
        subject = owner.find(_DC + "subject")
        if subject is not None:
            items = [_words(li) for li in subject.iter() if _local(li.tag) == "li"]
            if not items:
                items = re.split(r"[;,]", _words(subject))
            keywords = [k.strip() for k in items if k.strip()]
    texts = [_words(el) for el in root.iter() if _local(el.tag) == "text"]
    text = " ".join(t for t in texts if t)[:MAX_TEXT_CHARS]
    w, h = natural_size({k: v for k, v in root.attrib.items() if isinstance(k, str)})
    return SvgInfo(title, desc, tuple(dict.fromkeys(keywords)), text, w, h)


def decode_svg(data: bytes) -> str:
    """Markup as text: BOM, else the XML declaration's encoding, else UTF-8."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    m = _XML_ENCODING.match(data[:200])
    codec = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return data.decode(codec, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def strip_external_refs(markup: str) -> str:
    """Blank every ``href`` that points outside the document (files, URLs)."""
    return _EXTERNAL_HREF.sub(r"\1\2\2", markup)


RENDER_STACK = 256 << 20  # bytes of stack for the thread resvg runs on (virtual: only what it uses is touched)
_stack_size = threading.Lock()


def resvg_png(**kwargs: Any) -> bytes:
    """``resvg_py.svg_to_bytes(**kwargs)`` run on a thread of its own with a ``RENDER_STACK`` stack.

    resvg recurses once per level of a drawing (nested elements, chained ``<use>`` references); about 300
    levels overflowed the main thread's 8 MB stack, a segmentation fault that ended the whole ``mmrag add``.
    On this stack resvg's own node limit stops such a drawing first, with a ``ValueError`` reported for its
    file. Errors raised by resvg are raised here."""
    import resvg_py

    result: list[Any] = []

    def run() -> None:
        try:
            result.append(bytes(resvg_py.svg_to_bytes(**kwargs)))
        except BaseException as exc:  # noqa: BLE001 - a Rust panic is a BaseException: handed to the caller
            result.append(exc)

    with _stack_size:  # the size applies to threads started while it is set: only this one
        previous = threading.stack_size(RENDER_STACK)
        try:
            worker = threading.Thread(target=run, name="resvg", daemon=True)
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if not result:
        raise RuntimeError("the SVG renderer stopped without an answer")
    if isinstance(result[0], BaseException):
        raise result[0]
    return bytes(result[0])


def render_svg(
    data: bytes, source: str, config: IngestConfig, max_side: int
) -> tuple[Image.Image, dict[str, Any], str]:
    """``(image, info, svg_text)``: the drawing rendered so its long side is
    between ``MIN_RENDER`` and ``max_side`` px, plus its metadata."""
    try:
        import resvg_py  # noqa: F401 - rendered by resvg_png
    except ImportError:
        raise MissingDependency("resvg-py", "all", "rendering SVG") from None
    if not data.strip():
        raise IngestError(source, "the SVG file is empty: nothing to index")
    info = parse_svg(data, source)
    long_side = max(info.width, info.height)
    target = int(min(max(long_side, MIN_RENDER), max_side))
    if target * target * (min(info.width, info.height) / long_side) > config.max_image_pixels:
        raise IngestError(source, "rendered drawing would exceed ingest.max_image_pixels; raise that limit")
    wide = info.width >= info.height
    try:
        # dpi=96 (CSS px): the binding's default dpi=0 turns pt/mm/in sizes into 0 ("invalid size").
        png = resvg_png(
            svg_string=strip_external_refs(decode_svg(data)),
            dpi=96.0,
            width=target if wide else None,
            height=None if wide else target,
        )
        img = Image.open(io.BytesIO(bytes(png)))
        img.load()
    except BaseException as exc:  # resvg raises ValueError, and a Rust panic is a BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        if "nodes limit" in str(exc):
            raise IngestError(source, "cannot render SVG: it nests or repeats more elements than the renderer "
                                      "allows (resvg's node limit; a broken or hostile drawing?); re-export it") from None
        raise IngestError(
            source, f"cannot render SVG ({exc}); check the file in a browser or re-export it"
        ) from None
    meta: dict[str, Any] = {
        "width": round(info.width),
        "height": round(info.height),
        "format": "SVG",
        "keywords": list(info.keywords),
    }
    if info.title:
        meta["title"] = info.title
    if info.description:
        meta["description"] = info.description
    return img, meta, info.text


__all__ = [
    "MAX_SVG_BYTES",
    "SvgInfo",
    "decode_svg",
    "natural_size",
    "parse_length",
    "parse_svg",
    "render_svg",
    "strip_external_refs",
]
