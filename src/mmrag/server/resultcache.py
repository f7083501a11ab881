"""Result cache: a repeated ``/search`` on an unchanged index is answered from memory.

A response body (the JSON bytes ``/search`` sent) is kept under a key made of
everything that changes it:

- the request: the query text exactly as sent, each uploaded image's or
  recording's content hash (BLAKE2b of the bytes) and file suffix, ``k``,
  ``modality`` and ``where``;
- ``Engine.result_version()``: the index's committed state on disk (a ``stat``
  of the LanceDB manifest folder and ``mmrag.json``: any ``add``/``remove``,
  by this server or another process, changes it), this engine's own write
  count, and the feedback log's version (a judgement recorded here, or
  appended to the log file by ``mmrag feedback`` elsewhere, changes it).

The server's space, config and relevance model are fixed for its life, so they
are not part of the key. The key's version is read *before* the search runs,
so a stored answer is never older than its key. Where the index has no stamp
(Milvus), ``result_version`` is ``None`` and nothing is cached.

Bounded: least recently used entries go first once ``serve.result_cache``
entries or ``serve.result_cache_mb`` megabytes are held (0 entries: off).

``FastSearch`` answers cache hits of plain text queries (a url-encoded form
from a loopback client, no token, no CORS) before FastAPI parses anything:
routing, form parsing and dependency resolution cost more CPU than the rest
of a cached answer. Everything else, and every miss, goes to the app
unchanged (the body is replayed), which fills the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import parse_qsl

from mmrag.server.auth import is_loopback

FORM = b"application/x-www-form-urlencoded"
MAX_FORM = 64 * 1024  # bodies larger than this are left to FastAPI
HEADERS = [(b"content-type", b"application/json"), (b"x-mmrag-cache", b"hit")]


class ResultCache:
    """A thread-safe LRU of response bodies, bounded by entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max(0, int(max_entries))
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.shared = 0  # requests answered by an identical search already under way (server/app.py)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable | None, *, count_miss: bool = True) -> bytes | None:
        if key is None or not self.enabled:
            return None
        with self._lock:
            body = self._items.get(key)
            if body is None:
                self.misses += count_miss
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable | None, body: bytes) -> None:
        if key is None or not self.enabled or len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = body
            self._bytes += len(body)
            while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._items), "bytes": self._bytes, "hits": self.hits, "misses": self.misses,
                "shared": self.shared}


def search_key(
    version: tuple[Any, ...] | None,
    q: str | None,
    k: int,
    modality: str | None,
    where: str | None,
    media: tuple[tuple[str, str, str], ...] = (),
) -> tuple[Any, ...] | None:
    """The cache key of one ``/search`` request (``None``: not cacheable)."""
    if version is None:
        return None
    return (version, q or None, media, int(k), modality or None, where or None)


class FastSearch:
    """ASGI middleware: cache hits of plain text ``POST /search`` answered without FastAPI."""

    def __init__(self, app: Any, cache: ResultCache, version: Callable[[], tuple[Any, ...] | None], bind_host: str) -> None:
        self.app = app
        self.cache = cache
        self.version = version
        self.open = is_loopback(bind_host)  # beyond loopback every read needs the token: FastAPI checks it

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not (self.open and scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/search"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        plain = (
            headers.get(b"content-type", b"").split(b";")[0].strip() == FORM
            and length.isdigit() and int(length) <= MAX_FORM
            and b"authorization" not in headers and b"x-mmrag-token" not in headers and b"origin" not in headers
            and not scope.get("query_string") and client is not None and is_loopback(client[0])
        )
        if not plain:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        message = await receive()
        while True:
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
            message = await receive()
        body = b"".join(chunks)
        found = self._lookup(body)
        if found is not None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(found)).encode()), *HEADERS]})
            await send({"type": "http.response.body", "body": found})
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _lookup(self, body: bytes) -> bytes | None:
        """The cached answer for this form, or ``None`` (a miss, or anything FastAPI should judge)."""
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None
        form = dict(pairs)
        if len(form) != len(pairs) or not set(form) <= {"q", "k", "modality", "where"}:
            return None
        q = form.get("q")
        raw_k = form.get("k", "10")
        if not q or not q.strip() or not raw_k.isdigit() or not 1 <= int(raw_k) <= 200:
            return None
        key = search_key(self.version(), q, int(raw_k), form.get("modality"), form.get("where"))
        return self.cache.get(key, count_miss=False)  # the app counts the miss when it answers


__all__ = ["FastSearch", "ResultCache", "search_key"]
