"""Micro-batching of concurrent text queries: one encoder call for all waiting ones.

Under load, many requests want a query embedding at the same moment. One at a
time, each pays the encoder's fixed cost (a forward pass over a batch of one);
together, a batch of 32 short queries costs about as much as three single ones.
``QueryBatcher`` collects the texts that arrive within ``window_s`` of the first
(or until ``max_batch``), embeds the distinct ones the query cache lacks in ONE
``space.encode`` call, and puts the vectors into the engine's query cache.
The request then builds its ``Query`` with ``build_query``, the function
``Engine.embed_query`` calls, which finds every vector in the cache: the query
object, the search and the hits are made by the single-query code path, only
the vectors were computed together. (A batch pads its texts to the longest one; the vectors agree with
one-at-a-time encoding to float32 rounding, about 1e-7, and the hits are the
same: ``tests/server/test_batcher.py``.)

If a batch's encoder call fails, each of its requests embeds its own text
(and gets its own error, if any). Only plain text queries are batched; images and recordings (OCR, Whisper) and
an engine whose query cache is off take the direct path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from mmrag.types import Channel

log = logging.getLogger("mmrag.server")


def text_keys(text: str) -> list[str]:
    """The texts ``build_query`` embeds through the text channel for a plain text query:
    the positive text (negative terms taken out) and each negative term (pure)."""
    from mmrag.query import split_negatives

    positive, negatives = split_negatives(text)
    keys = [positive.strip()] if positive.strip() else []
    return keys + [w for w in negatives if w not in keys]


class QueryBatcher:
    """Embeds the text queries of concurrent requests together; see the module doc."""

    def __init__(self, engine: Any, *, window_s: float = 0.003, max_batch: int = 64) -> None:
        self.engine = engine
        self.window_s = float(window_s)
        self.max_batch = int(max_batch)
        self._pending: list[tuple[list[str], Future[None]]] = []
        self._cond = threading.Condition()
        self._closed = False
        self.batches = 0  # encoder calls made
        self.embedded = 0  # texts embedded in them
        self._thread = threading.Thread(target=self._run, name="mmrag-query-batcher", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- callers
    def submit(self, text: str) -> Future[None]:
        """A future that completes once every vector ``text`` needs is in the query cache
        (at once when they already are, or when batching does not apply)."""
        done: Future[None] = Future()
        cache = self.engine.query_cache()
        missing = [] if cache is None else [k for k in text_keys(text) if cache.peek_vector(Channel.TEXT.value, k) is None]
        if not missing or self._closed or not self._thread.is_alive():
            done.set_result(None)
            return done
        with self._cond:
            self._pending.append((missing, done))
            self._cond.notify()
        return done

    def query(self, text: str) -> Any:
        """The ``Query`` of a text whose vectors were batched: ``build_query`` as ``Engine.embed_query``
        calls it, but without the engine's encoder lock when every vector is in the cache (no
        tokenizer runs then), so it does not wait behind the next batch's encoder call."""
        from mmrag.query import build_query

        cache = self.engine.query_cache()
        if cache is None or any(cache.peek_vector(Channel.TEXT.value, k) is None for k in text_keys(text)):
            return self.engine.embed_query(text)
        return build_query(self.engine.space, self.engine.config, text=text, cache=cache)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    # ----------------------------------------------------------------- the worker
    def _take(self) -> list[tuple[list[str], Future[None]]]:
        """Wait for a first request, then up to ``window_s`` for more (``max_batch`` texts at most,
        whole requests: a request's texts are embedded in the same call)."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed and not self._pending:
                return []
            deadline = time.monotonic() + self.window_s
            while sum(len(k) for k, _ in self._pending) < self.max_batch and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            taken, count = 0, 0
            for keys, _ in self._pending:
                if taken and count + len(keys) > self.max_batch:
                    break
                taken, count = taken + 1, count + len(keys)
            batch, self._pending = self._pending[:taken], self._pending[taken:]
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                return
            keys = list(dict.fromkeys(k for ks, _ in batch for k in ks))  # distinct, in arrival order
            try:
                self._embed(keys)
            except Exception:  # one bad text must not fail the others' requests
                log.debug("batched query embedding failed; each request embeds its own", exc_info=True)
            finally:
                for _, fut in batch:  # a text left out of the cache is embedded (or fails) in its own request
                    fut.set_result(None)

    def _embed(self, keys: Sequence[str]) -> None:
        cache = self.engine.query_cache()
        todo = [k for k in keys if cache.peek_vector(Channel.TEXT.value, k) is None]
        if not todo:
            return
        space = self.engine.space
        with self.engine._embed_lock:  # the engine's own rule: one tokenizer user at a time
            vectors = space.encode(Channel.TEXT, todo, query=True)
        for key, vec in zip(todo, vectors):
            cache.vector(Channel.TEXT.value, key, lambda v=vec: v)
        self.batches += 1
        self.embedded += len(todo)


__all__ = ["QueryBatcher", "text_keys"]
