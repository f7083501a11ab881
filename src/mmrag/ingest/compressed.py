"""Gzip-compressed text (``README.md.gz``, ``changelog.Debian.gz``, ``app.log.gz``): read as the text inside.

Documentation folders (Debian's ``/usr/share/doc`` holds more ``.gz`` files than anything else) and log
archives keep text gzip-compressed. Such a file is sniffed by what its first decompressed bytes are
(``sources._probe_gzip``): text, Markdown or HTML is indexed like the uncompressed file, its format
taken from the name inside (``notes.md.gz`` is Markdown); anything else (a ``.tar.gz`` archive, a
compressed picture) is skipped with that reason. The decompressed size is bounded before it is held,
so a decompression bomb is refused, not expanded (standard library ``zlib``; nothing to install).
"""

from __future__ import annotations

import zlib
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"


class GzipError(ValueError):
    """A gzip stream that is damaged, cut short or expands past the limit; the message says which."""


def inner_name(path: str | Path) -> str:
    """The name inside: ``notes.md.gz`` -> ``notes.md`` (pure)."""
    name = Path(path).name
    return name[:-3] if name.lower().endswith(".gz") else name


def inner_suffix(path: str | Path) -> str:
    """The suffix of the name inside, lower case: ``notes.md.gz`` -> ``.md``, ``README.gz`` -> ``""`` (pure)."""
    return Path(inner_name(path)).suffix.lower()


def gunzip(data: bytes, limit: int) -> bytes:
    """Every member of a gzip stream, decompressed; ``GzipError`` past ``limit`` bytes, if damaged or cut short."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise GzipError(f"a damaged gzip stream ({exc})") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise GzipError(f"it expands past {limit / 2**20:.0f} MB (a decompression bomb?)")
        if not inflater.eof:
            raise GzipError("the gzip stream is cut short (a truncated file)")
        rest = inflater.unused_data.lstrip(b"\0")  # the next member; trailing zero padding is allowed
    return bytes(out)


def gunzip_head(data: bytes, size: int) -> bytes:
    """Up to ``size`` decompressed bytes from the start of a gzip stream (for sniffing; a cut stream is
    fine here); ``GzipError`` if it does not decompress at all."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, size)
    except zlib.error as exc:
        raise GzipError(f"a damaged gzip stream ({exc})") from None


__all__ = ["GZIP_MAGIC", "GzipError", "gunzip", "gunzip_head", "inner_name", "inner_suffix"]
