"""Vectors of pictures already embedded in one ingest run, found again by their pixels.

Catalogues often point several rows at one picture (a product's colour or size
variants share a photo). Embedding it once per run instead of once per row is
what makes such catalogues index at the speed of their text. The memo is a
bounded LRU keyed by a digest of the decoded pixels (so the same picture under
two paths or URLs is one entry, and a changed file is a new one).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np

from mmrag.types import Channel

CAPACITY = 8192  # ~25 MB of vectors at 384 + 384 float32 per picture


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


__all__ = ["CAPACITY", "PictureMemo", "picture_key"]
