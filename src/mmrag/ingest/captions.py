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

A video's or a recording's subtitles are its sidecar the same way: ``film.mp4`` + ``film.srt`` (or
``film.vtt``; a podcast's ``episode.mp3`` + ``episode.vtt``),
up to ``MAX_SUBTITLE_BYTES``, in UTF-8 or any charset ``text.decode_text`` detects. They join the
file's hash and quick check by the same rules, and the video and audio loaders take its transcript
from their cues (``ingest/subtitles.py``) instead of transcribing the sound.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmrag.config import IngestConfig

if TYPE_CHECKING:  # pragma: no cover
    from mmrag.ingest.subtitles import Cue

CAPTION_SUFFIX = ".txt"
MAX_CAPTION_BYTES = 4096  # a few sentences in any language; more is a document
PICTURE_SUFFIXES = frozenset({  # the names of the pictures mmrag reads (Pillow's formats, SVG; HEIC with the heic extra)
    ".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp", ".png", ".apng", ".gif", ".webp", ".bmp", ".dib", ".tif",
    ".tiff", ".ico", ".svg", ".svgz", ".heic", ".heif", ".avif", ".jp2", ".j2k", ".jpf", ".jpx", ".psd", ".tga",
    ".qoi", ".dds", ".icns", ".pcx", ".sgi", ".ppm", ".pgm", ".pbm", ".pnm", ".xbm", ".xpm", ".fits",
})
PICTURE_KINDS = ("image", "svg")
SUBTITLE_SUFFIXES = (".srt", ".vtt")  # in this order of preference
MAX_SUBTITLE_BYTES = 4 * 2**20  # a feature film's subtitles are ~100 KB
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv", ".ogv",
})
AUDIO_SUFFIXES = frozenset({  # recordings whose transcript may lie beside them (a podcast's .vtt)
    ".mp3", ".m4a", ".m4b", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aiff", ".aif",
})
CAPTIONED_KINDS = (*PICTURE_KINDS, "video", "audio")  # sniffed kinds whose hash a sidecar joins


@dataclass(frozen=True)
class Caption:
    """A picture's caption sidecar: its file, its words (whitespace folded) and a hash of its bytes."""

    path: Path
    text: str
    digest: str


def caption_sidecar(picture: str | os.PathLike[str], follow_symlinks: bool = False) -> tuple[Path, os.stat_result] | None:
    """The ``.txt`` beside ``picture`` that may caption it, or the ``.srt`` / ``.vtt`` beside a video or a
    recording (a regular file, small, not a symlink unless ``follow_symlinks``), and its stat, else
    ``None``. Only stats: nothing is read."""
    p = Path(picture)
    suffix = p.suffix.lower()
    if suffix in PICTURE_SUFFIXES:
        return _regular(p.with_suffix(CAPTION_SUFFIX), MAX_CAPTION_BYTES, follow_symlinks)
    if suffix in VIDEO_SUFFIXES or suffix in AUDIO_SUFFIXES:  # subtitles: the first of film.srt, film.vtt
        return next((found for found in (_regular(p.with_suffix(s), MAX_SUBTITLE_BYTES, follow_symlinks)
                                         for s in SUBTITLE_SUFFIXES) if found), None)
    return None


def _regular(side: Path, most: int, follow_symlinks: bool) -> tuple[Path, os.stat_result] | None:
    try:
        if side.is_symlink() and not follow_symlinks:
            return None
        st = side.stat()
    except (OSError, ValueError):  # missing, unreadable folder, or a name the OS refuses
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > most:  # not a folder, FIFO or device
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
    """The caption in ``side``, a sidecar ``caption_sidecar`` found, or ``None`` (unreadable, not text).
    A subtitle file's ``text`` is its cues' words, a cue a line."""
    try:
        data = side.read_bytes()
    except OSError:
        return None
    text = parse_subtitle_file(data) if side.suffix.lower() in SUBTITLE_SUFFIXES else parse_caption(data)
    if text is None:
        return None
    return Caption(side, text, hashlib.blake2b(data, digest_size=16).hexdigest())


def parse_subtitle_file(data: bytes) -> str | None:
    """The words of a subtitle file's bytes, a cue a line; ``None`` if it has no cues (pure)."""
    from mmrag.ingest.subtitles import subtitle_text
    from mmrag.ingest.text import decode_text

    if len(data) > MAX_SUBTITLE_BYTES or b"\x00" in data:
        return None
    text = subtitle_text(decode_text(data)[0])
    return text or None


def subtitles_for(media: Path, config: IngestConfig) -> tuple[Path, list[Cue]] | None:
    """A video's or recording's subtitle sidecar (``film.srt`` / ``film.vtt``) and its cues, or ``None``
    (none, ``ingest.captions`` off, unreadable, or no cue in it)."""
    if not config.captions:
        return None
    found = caption_sidecar(media, config.follow_symlinks)
    if found is None or found[0].suffix.lower() not in SUBTITLE_SUFFIXES:
        return None
    from mmrag.ingest.subtitles import parse_subtitles
    from mmrag.ingest.text import decode_text

    try:
        cues = parse_subtitles(decode_text(found[0].read_bytes())[0])
    except OSError:
        return None
    return (found[0], cues) if cues else None


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
    "AUDIO_SUFFIXES",
    "CAPTIONED_KINDS",
    "CAPTION_SUFFIX",
    "MAX_CAPTION_BYTES",
    "MAX_SUBTITLE_BYTES",
    "PICTURE_KINDS",
    "PICTURE_SUFFIXES",
    "SUBTITLE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "Caption",
    "caption_file",
    "caption_for",
    "caption_sidecar",
    "parse_caption",
    "parse_subtitle_file",
    "read_caption",
    "read_caption_file",
    "subtitles_for",
    "with_caption",
]
