"""Caption sidecars: the words of ``X.txt`` become part of the picture ``X.jpg`` beside it.

Captioned picture collections keep each caption in a text file named like its
picture: img2dataset's ``000123.jpg`` + ``000123.txt``, Tux Paint's stamps,
many scraped and hand-labelled folders. Such a caption is the picture's own
words, like an embedded EXIF title: it goes into the picture's text channel
(``ingest.image.describe``), so a search for the caption finds the picture
itself, not only the text file.

Rules (the same for every add, so a folder indexes the same way each time):

- only a picture file (``PICTURE_SUFFIXES``) gets a caption, from the file of
  the same folder and stem with suffix ``.txt`` (exact case);
- a caption is short: a ``.txt`` over ``MAX_CAPTION_BYTES`` is a document,
  not a caption, and is not read here; one that is not UTF-8, or holds no
  words, is no caption either;
- the ``.txt`` is still indexed on its own when it is added (nothing is
  hidden from search); in results it folds under its picture
  (``retrieve.diversity``);
- a ``.txt`` that is a symlink is followed only with ``ingest.follow_symlinks``,
  the rule the folder walk has for every file (a link to a file elsewhere
  would otherwise bring that file's words into the index);
- the caption's bytes are part of the picture's content hash
  (``with_caption``) and its stat part of the picture's quick-check key
  (``statcache.joined_stat``), so editing, adding or removing a caption
  re-indexes the picture on the next add of it or its folder, and an
  untouched pair is settled without reading either file; an add of the caption alone
  re-checks its picture if that is indexed (``pipeline.Ingestor``).
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mmrag.config import IngestConfig

CAPTION_SUFFIX = ".txt"
MAX_CAPTION_BYTES = 4096  # a few sentences in any language; more is a document
PICTURE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".apng", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".svg", ".svgz",
})
PICTURE_KINDS = ("image", "svg")  # sniffed kinds whose hash a caption joins


@dataclass(frozen=True)
class Caption:
    """A picture's caption sidecar: its file, its words (whitespace folded) and a hash of its bytes."""

    path: Path
    text: str
    digest: str


def caption_sidecar(picture: str | os.PathLike[str], follow_symlinks: bool = False) -> tuple[Path, os.stat_result] | None:
    """The ``.txt`` beside ``picture`` that may caption it (a regular file, small, not a symlink unless
    ``follow_symlinks``) and its stat, else ``None``. Only stats: nothing is read."""
    p = Path(picture)
    if p.suffix.lower() not in PICTURE_SUFFIXES:
        return None
    side = p.with_suffix(CAPTION_SUFFIX)
    try:
        if side.is_symlink() and not follow_symlinks:
            return None
        st = side.stat()
    except (OSError, ValueError):  # missing, unreadable folder, or a name the OS refuses
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CAPTION_BYTES:  # not a folder, FIFO or device
        return None
    return side, st


def caption_file(picture: str | os.PathLike[str], follow_symlinks: bool = False) -> Path | None:
    """The path of ``caption_sidecar``, or ``None``."""
    found = caption_sidecar(picture, follow_symlinks)
    return found[0] if found else None


def parse_caption(data: bytes) -> str | None:
    """The words of a caption file's bytes (UTF-8, a BOM allowed), whitespace folded; ``None`` if it has
    none or is not text (pure)."""
    if len(data) > MAX_CAPTION_BYTES or b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    words = " ".join(text.split())
    return words if any(ch.isalnum() for ch in words) else None


def read_caption_file(side: Path) -> Caption | None:
    """The caption in ``side``, a sidecar ``caption_sidecar`` found, or ``None`` (unreadable, not text)."""
    try:
        data = side.read_bytes()
    except OSError:
        return None
    text = parse_caption(data)
    if text is None:
        return None
    return Caption(side, text, hashlib.blake2b(data, digest_size=16).hexdigest())


def read_caption(picture: str | os.PathLike[str], follow_symlinks: bool = False) -> Caption | None:
    """The caption of ``picture`` from its ``.txt`` sidecar, or ``None`` (no sidecar, too big, not text)."""
    side = caption_file(picture, follow_symlinks)
    return read_caption_file(side) if side is not None else None


def caption_for(picture: str | os.PathLike[str], config: IngestConfig) -> Caption | None:
    """``read_caption`` as the ingest settings say: ``None`` with ``ingest.captions`` off; a symlinked
    sidecar only with ``ingest.follow_symlinks``."""
    return read_caption(picture, config.follow_symlinks) if config.captions else None


def with_caption(picture_hash: str, caption: Caption | None) -> str:
    """The content hash of a picture and its caption together (the picture's own hash without one; pure)."""
    if caption is None:
        return picture_hash
    return hashlib.blake2b(f"{picture_hash}+caption:{caption.digest}".encode(), digest_size=32).hexdigest()


__all__ = [
    "CAPTION_SUFFIX",
    "MAX_CAPTION_BYTES",
    "PICTURE_KINDS",
    "PICTURE_SUFFIXES",
    "Caption",
    "caption_file",
    "caption_for",
    "caption_sidecar",
    "parse_caption",
    "read_caption",
    "read_caption_file",
    "with_caption",
]
