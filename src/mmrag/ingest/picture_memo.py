"""Vectors of pictures already embedded in one ingest run, found again by their pixels.

Catalogues often point several rows at one picture (a product's colour or size
variants share a photo). Embedding it once per run instead of once per row is
what makes such catalogues index at the speed of their text. The memo is a
bounded LRU keyed by a digest of the decoded pixels (so the same picture under
two paths or URLs is one entry, and a changed file is a new one).

``DecodedPictures`` sits in front of decoding: rows that point at the same
file (same resolved path, size and modification time) decode it once. A
170-Mpixel PNG takes seconds to decode, and its ten variant rows used to pay
that ten times even though the vectors came from the memo.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mmrag.types import Channel

CAPACITY = 8192  # ~25 MB of vectors at 384 + 384 float32 per picture
DECODED_CAPACITY = 16  # decoded pictures are at most 1024 px long: <= ~50 MB


def picture_key(picture: Any) -> bytes:
    """A digest of a decoded picture's mode, size and pixels."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{picture.mode}:{picture.size[0]}x{picture.size[1]}".encode())
    h.update(picture.tobytes())
    return h.digest()


class PictureMemo:
    """``key -> {channel: vector}``, least recently used first out."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = max(0, capacity)
        self._entries: OrderedDict[bytes, dict[Channel, np.ndarray]] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> dict[Channel, np.ndarray] | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return found

    def put(self, key: bytes, vectors: dict[Channel, np.ndarray]) -> None:
        if self.capacity == 0:
            return
        self._entries[key] = vectors
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


class DecodedPictures:
    """Decoded pictures by file identity ``(resolved path, size, mtime)``, least recently used first out.

    The pictures handed out are shared: callers must not change them in place
    (thumbnails and encoders work on copies).
    """

    def __init__(self, capacity: int = DECODED_CAPACITY) -> None:
        self.capacity = max(0, capacity)
        self._entries: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self.hits = 0

    def get(self, path: Path, decode: Callable[[], Any]) -> Any:
        """The decoded picture at ``path``, from ``decode()`` unless this file was decoded lately.
        Errors from ``decode`` (or a missing file) propagate and are not remembered."""
        try:
            st = path.stat()
            key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            return decode()  # let the decoder say what is wrong with the path
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        picture = decode()
        if self.capacity:
            self._entries[key] = picture
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return picture


__all__ = ["CAPACITY", "DECODED_CAPACITY", "DecodedPictures", "PictureMemo", "picture_key"]
