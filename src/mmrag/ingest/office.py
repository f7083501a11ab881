"""What the Word (``word.py``) and PowerPoint (``slides.py``) loaders share.

Both formats are ZIP packages of XML parts (Office Open XML), read by python-docx and
python-pptx (MIT, well kept). Shared here:

- ``check_package``: the ZIP's own directory is read first, so a package that would inflate past
  ``ingest.max_file_mb`` × ``MAX_INFLATION`` (a ZIP bomb) or is not a ZIP at all is refused with a
  reason before any part is decompressed;
- ``picture_segment``: an embedded picture's bytes -> an image segment (the same safe decode as
  a photo file, ``image.open_image``); icons and bullets smaller than ``MIN_PICTURE_PX`` and
  formats Pillow cannot draw (EMF/WMF vector art) are left out, not errors;
- ``cell_text``: one table cell's text on one line.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

from mmrag.config import IngestConfig
from mmrag.errors import IngestError, MissingDependency
from mmrag.ingest.image import filename_words, make_thumbnail, open_image
from mmrag.types import Modality, Segment, Span

_DEFAULT_NAME = re.compile(r"^(picture|image|graphic|grafik|bild|imagen|immagine|content placeholder|placeholder)\s*\d*$", re.IGNORECASE)
_FILE_NAME = re.compile(r"^\S+\.(png|jpe?g|gif|bmp|tiff?|emf|wmf|svg|webp)$", re.IGNORECASE)
MAX_INFLATION = 20  # a package may unpack to at most this many times ingest.max_file_mb
MIN_PICTURE_PX = 32  # smaller embedded pictures are bullets, icons and spacers


def check_package(path: Path, config: IngestConfig, what: str) -> None:
    """Refuse a package that is not a ZIP, or that would inflate past the limit, before reading it."""
    source = str(path)
    try:
        with zipfile.ZipFile(path) as package:
            total = sum(info.file_size for info in package.infolist())
    except zipfile.BadZipFile:
        raise IngestError(
            source,
            f"not a readable {what} (its ZIP package is damaged or truncated, or the file is password-protected); "
            f"open and save it again",
        ) from None
    except OSError as exc:
        raise IngestError(source, f"cannot read the file ({exc.strerror or exc}); check its permissions") from None
    limit = config.max_file_mb * MAX_INFLATION * 2**20
    if total > limit:
        raise IngestError(
            source,
            f"its parts unpack to {total / 2**20:,.0f} MB, over {MAX_INFLATION}× ingest.max_file_mb "
            f"({limit / 2**20:,.0f} MB): refused as a possible ZIP bomb; raise ingest.max_file_mb if you trust it",
        )


def require(module: str, package: str, feature: str) -> None:
    """``MissingDependency`` naming the ``office`` extra when python-docx / python-pptx is absent."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(package, "office", feature)


def picture_segment(
    blob: bytes, source: str, config: IngestConfig, *, page: int | None, number: int, text: str,
    meta: Mapping[str, str] | None = None,
) -> Segment | None:
    """An embedded picture as an image segment (``meta.figure`` = ``number``), or ``None`` when it is too
    small to be content or is a format Pillow cannot draw."""
    try:
        img, info = open_image(blob, source, config)
    except IngestError:
        return None  # EMF/WMF vector art, a damaged embedded picture: the rest of the document still lands
    if min(int(info["width"]), int(info["height"])) < MIN_PICTURE_PX:
        return None
    return Segment(
        source=source,
        modality=Modality.IMAGE,
        span=Span(page=page),
        text=text,
        image=img,
        thumbnail=make_thumbnail(img, config.thumbnail_px),
        meta={"figure": str(number), "part": f"fig-{number}", **(meta or {})},
    )


def alt_words(alt: str) -> str:
    """A picture's alt text as words: an office suite's default name ("Picture 3", "Grafik 2") says
    nothing and is dropped; a file name ("revenue_chart.png", inserted from a file) keeps its words. Pure."""
    text = " ".join(alt.split())
    if _DEFAULT_NAME.match(text):
        return ""
    if _FILE_NAME.match(text):
        return filename_words(text)
    return text


def cell_text(text: str) -> str:
    """A table cell's text on one line."""
    return " ".join(text.split())


__all__ = ["MAX_INFLATION", "MIN_PICTURE_PX", "alt_words", "cell_text", "check_package", "picture_segment", "require"]
