"""Query-embedding cache: a repeated query skips the encoder (and OCR, and speech recognition).

Keys are per space (its spec: name, dim, encoder ids), per channel, and per
content: the query text itself, or the BLAKE2b hash of a query image's or
recording's bytes. Values are vectors (float32) and the strings a query
payload yields (a picture's OCR text, a recording's transcript). Two levels:
a dict in memory, and a small SQLite file beside the index
(``mmrag-query-cache.sqlite``) so repeated queries are fast across runs too.
A broken or read-only cache file only means the cache is memory-only.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MAX_MEMORY = 4096  # entries kept in memory (oldest dropped first)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class QueryCache:
    """Vectors and strings of query payloads, per space; see module doc."""

    def __init__(self, path: Path | None, spec: Any) -> None:
        self.path = path
        self._space = content_hash(json.dumps(spec.to_dict(), sort_keys=True).encode())
        self._memory: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=2.0)
                self._db.execute("PRAGMA synchronous=OFF")  # a cache: losing the last entries in a crash is fine
                self._db.execute("CREATE TABLE IF NOT EXISTS q (key TEXT PRIMARY KEY, kind TEXT, value BLOB)")
                self._db.commit()
            except sqlite3.Error:
                self._db = None

    def _key(self, channel: str, content: str) -> str:
        return content_hash(f"{self._space}\x00{channel}\x00{content}".encode())

    def _get(self, key: str) -> Any:
        with self._lock:
            if key in self._memory:
                return self._memory[key]
            if self._db is None:
                return None
            try:
                row = self._db.execute("SELECT kind, value FROM q WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error:
                return None
        if row is None:
            return None
        value: Any = np.frombuffer(row[1], dtype=np.float32).copy() if row[0] == "vec" else row[1].decode("utf-8")
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._memory) >= MAX_MEMORY:
                self._memory.pop(next(iter(self._memory)))
            self._memory[key] = value

    def _put(self, key: str, value: Any) -> None:
        self._remember(key, value)
        if self._db is None:
            return
        kind, blob = ("vec", np.asarray(value, dtype=np.float32).tobytes()) if isinstance(value, np.ndarray) else ("str", str(value).encode("utf-8"))
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO q VALUES (?, ?, ?)", (key, kind, blob))
                self._db.commit()
            except sqlite3.Error:
                pass

    def vector(self, channel: str, content: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached vector of ``content`` through ``channel``, computed (and kept) on a miss."""
        key = self._key("vec:" + channel, content)
        got = self._get(key)
        if got is not None:
            self.hits += 1
            return got  # type: ignore[no-any-return]
        self.misses += 1
        value = np.asarray(compute(), dtype=np.float32)
        self._put(key, value)
        return value

    def peek_vector(self, channel: str, content: str) -> np.ndarray | None:
        got = self._get(self._key("vec:" + channel, content))
        return got if isinstance(got, np.ndarray) else None

    def text(self, kind: str, content: str, compute: Callable[[], str]) -> str:
        """A cached string (OCR text of a picture, transcript of a recording)."""
        key = self._key("str:" + kind, content)
        got = self._get(key)
        if isinstance(got, str):
            return got
        value = compute()
        self._put(key, value)
        return value

    def peek_text(self, kind: str, content: str) -> str | None:
        got = self._get(self._key("str:" + kind, content))
        return got if isinstance(got, str) else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


__all__ = ["QueryCache", "content_hash"]
