"""HEIC/HEIF pictures (an iPhone's photos): known by their ``ftyp`` brand, read through pillow-heif.

pillow-heif (the opt-in ``heic`` extra) registers a HEIF reader with Pillow; it is imported only when a
HEIF picture comes (~40 ms), by the sniffer (``sources``) and the picture decoder (``image``) alike.
"""

from __future__ import annotations

HEIC_HINT = ('HEIC photos (an iPhone\'s) need the heic extra: pip install "mmrag[heic]" '
             "(pillow-heif; its wheel bundles the GPL x265 encoder), or convert them to JPEG")

_HEIF: list[bool] = []  # [registered?] once known


def heif_support() -> bool:
    """Register pillow-heif's HEIC/HEIF reader with Pillow, once (the ``heic`` extra: iPhone photos);
    whether it is there. Imported only when a picture needs it (~40 ms)."""
    if not _HEIF:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _HEIF.append(True)
        except ImportError:
            _HEIF.append(False)
    return _HEIF[0]


def is_heif(head: bytes) -> bool:
    """An ISO-BMFF picture of the HEIF family (HEIC, an iPhone's photos) by its ``ftyp`` brand (pure)."""
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


__all__ = ["HEIC_HINT", "heif_support", "is_heif"]
