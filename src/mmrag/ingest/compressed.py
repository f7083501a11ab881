"""Compressed text (``README.md.gz``, ``changelog.Debian.gz``, ``app.log.xz``, ``notes.txt.bz2``): read as the
text inside.

Documentation folders (Debian's ``/usr/share/doc`` holds more ``.gz`` files than anything else) and log
archives keep text compressed. Such a file is sniffed by what its first decompressed bytes are
(``sources._probe_compressed``): text, Markdown or HTML is indexed like the uncompressed file, its format
taken from the name inside (``notes.md.gz`` is Markdown); anything else (a ``.tar.gz`` archive, a
compressed picture) is skipped with that reason. The decompressed size is bounded before it is held,
so a decompression bomb is refused, not expanded. gzip, bzip2 and xz, all from the standard library
(``zlib``, ``bz2``, ``lzma``); nothing to install.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from pathlib import Path
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
CODECS = {  # name -> (magic bytes, the suffix a file of it carries)
    "gzip": (GZIP_MAGIC, ".gz"),
    "bzip2": (b"BZh", ".bz2"),
    "xz": (b"\xfd7zXZ\x00", ".xz"),
}
SUFFIXES = tuple(suffix for _, suffix in CODECS.values())


class UnpackError(ValueError):
    """A compressed stream that is damaged, cut short or expands past the limit; the message says which."""


def codec_of(head: bytes, suffix: str) -> str | None:
    """The codec a file is compressed with, by its first bytes and its suffix (both must agree) (pure)."""
    suffix = suffix.lower()
    return next((name for name, (magic, ext) in CODECS.items() if head.startswith(magic) and suffix == ext), None)


def inner_name(path: str | Path) -> str:
    """The name inside: ``notes.md.gz`` -> ``notes.md`` (pure)."""
    name = Path(path).name
    return next((name[: -len(ext)] for ext in SUFFIXES if name.lower().endswith(ext)), name)


def inner_suffix(path: str | Path) -> str:
    """The suffix of the name inside, lower case: ``notes.md.gz`` -> ``.md``, ``README.gz`` -> ``""`` (pure)."""
    return Path(inner_name(path)).suffix.lower()


def _new(codec: str) -> Any:
    if codec == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    return bz2.BZ2Decompressor() if codec == "bzip2" else lzma.LZMADecompressor()


_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)


def decompress(data: bytes, limit: int, codec: str = "gzip") -> bytes:
    """Every stream (member) of ``data``, decompressed; ``UnpackError`` past ``limit`` bytes, if damaged or cut short."""
    out = bytearray()
    rest = data
    while rest:
        d = _new(codec)
        try:
            out += d.decompress(rest, limit + 1 - len(out))
        except _ERRORS as exc:
            raise UnpackError(f"a damaged {codec} stream ({exc})") from None
        more = bool(d.unconsumed_tail) if codec == "gzip" else not d.eof and not d.needs_input
        if len(out) > limit or more:
            raise UnpackError(f"it expands past {limit / 2**20:.0f} MB (a decompression bomb?)")
        if not d.eof:
            raise UnpackError(f"the {codec} stream is cut short (a truncated file)")
        rest = d.unused_data.lstrip(b"\0")  # the next stream; trailing zero padding is allowed
    return bytes(out)


def decompress_head(data: bytes, size: int, codec: str = "gzip") -> bytes:
    """Up to ``size`` decompressed bytes from the start of a stream (for sniffing; a cut stream is fine
    here); ``UnpackError`` if it does not decompress at all."""
    try:
        return bytes(_new(codec).decompress(data, size))
    except _ERRORS as exc:
        raise UnpackError(f"a damaged {codec} stream ({exc})") from None


def gunzip(data: bytes, limit: int) -> bytes:
    """``decompress`` for gzip."""
    return decompress(data, limit, "gzip")


def gunzip_head(data: bytes, size: int) -> bytes:
    """``decompress_head`` for gzip."""
    return decompress_head(data, size, "gzip")


__all__ = [
    "CODECS",
    "GZIP_MAGIC",
    "SUFFIXES",
    "UnpackError",
    "codec_of",
    "decompress",
    "decompress_head",
    "gunzip",
    "gunzip_head",
    "inner_name",
    "inner_suffix",
]
