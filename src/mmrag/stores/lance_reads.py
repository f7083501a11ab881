"""The read side of ``LanceStore`` (``mmrag.stores.lance``): search, full-text search, counts, sources,
thumbnails and vectors. A mixin: the state it reads (the table, the in-memory indexes, the row metadata
snapshot, the lock) is made and kept fresh by ``LanceStore``; nothing here writes the table or ``ann/``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import mmrag.stores.lance_table as lt
from mmrag.errors import StoreError
from mmrag.stores.ann import VectorIndex, keys_of
from mmrag.stores.base import ScoredRow, SourceInfo
from mmrag.stores.common import check_k, check_query, most_fields
from mmrag.stores.filters import And, Cmp, In, Node, parse_optional, predicate, split_column, to_lance
from mmrag.stores.lance_fts import fts_query
from mmrag.stores.lance_meta import RowMeta

log = logging.getLogger("mmrag.stores.lance")


class LanceReads:
    """Reads of a LanceDB index folder; ``LanceStore`` supplies the state below."""

    dim: int
    path: Path
    read_only: bool
    _lock: threading.RLock
    _meta: RowMeta
    _indexes: dict[str, VectorIndex]
    _table: Any
    _has_fts: bool
    _has_heard_fts: bool
    _hashes: dict[str, str | None] | None
    _unsure: set[str]

    def _ensure_fresh(self) -> None:  # pragma: no cover - LanceStore's
        raise NotImplementedError

    # -- reads --------------------------------------------------------------------------
    def _rows(self, keys: np.ndarray, scores: Sequence[float]) -> list[ScoredRow]:
        rows = self._meta.rows(np.asarray(keys, dtype=np.uint64))
        return [ScoredRow(r, float(s)) for r, s in zip(rows, scores) if r is not None]

    def search(self, vector: np.ndarray, k: int, where: str | None = None) -> list[ScoredRow]:
        q = check_query(vector, self.dim)
        k = check_k(k)
        node = parse_optional(where)
        if k == 0:
            return []
        with self._lock:
            self._ensure_fresh()
            channels, rest = split_column(node, "channel")
            names = list(self._indexes) if channels is None else [c for c in channels if c in self._indexes]
            keep = None
            if rest is not None:
                test, meta = predicate(rest), self._meta
                keep = lambda keys: np.asarray([r is not None and test(r) for r in meta.rows(keys)], dtype=bool)
            found_keys: list[np.ndarray] = []
            found_scores: list[np.ndarray] = []
            for name in names:
                index = self._indexes[name]
                if keep is None:
                    keys, scores = index.query(q, k)
                else:
                    keys, scores, complete = index.query_filtered(q, k, keep, max(4096, 64 * k))
                    if not complete:
                        both: Node = Cmp("channel", "=", name) if rest is None else And((Cmp("channel", "=", name), rest))
                        ids, scores = lt.exact_search(self._table, q, k, to_lance(both), self.path)
                        keys = keys_of(ids)
                found_keys.append(keys)
                found_scores.append(np.asarray(scores, dtype=np.float32))
            if not found_keys:
                return []
            keys, scores = np.concatenate(found_keys), np.concatenate(found_scores)
            order = np.argsort(-scores, kind="stable")[:k]
            return self._rows(keys[order], scores[order].tolist())

    def text_search(self, query: str, k: int, where: str | None = None) -> list[ScoredRow]:
        from lancedb.query import MatchQuery

        if not isinstance(query, str):
            raise StoreError(f"text_search needs a string query, got {type(query).__name__}.")
        k = check_k(k)
        node = parse_optional(where)
        with self._lock:
            self._ensure_fresh()
            if not query.strip() or k == 0 or not len(self._meta):
                return []
            if not self._has_fts:  # an index written before text indexes were made on add: scan, read-only
                found = lt.text_scan(self._table, query, k, None if node is None else to_lance(node), self.path)
                return self._rows(keys_of(i for i, _ in found), [s for _, s in found])
            sql = None if node is None else to_lance(node)
            columns = ("text", "heard") if self._has_heard_fts else ("text",)
            try:  # what was written or heard first, and the words a recogniser may also have heard
                tables = fts_query(self._table, query, k, sql, columns)  # one round trip
                if tables is None:  # another lancedb version: its sync API
                    tables = []
                    for column in columns:
                        builder = self._table.search(MatchQuery(query, column), query_type="fts")  # type: ignore[call-arg]
                        if sql is not None:
                            builder = builder.where(sql, prefilter=True)
                        tables.append(builder.limit(k).select(["id", "_score"]).to_arrow())
                lists = [list(zip(r.column("id").to_pylist(), r.column("_score").to_pylist())) for r in tables]
            except (OSError, ValueError, RuntimeError) as exc:
                if self.read_only:  # e.g. no full-text index yet: a reader goes on with the dense lists
                    log.debug("full-text search skipped in %s: %s", self.path, exc)
                    return []
                raise lt.store_error("full-text search", self.path, exc) from None
            ranked = most_fields(lists, k) if len(lists) > 1 else lists[0]  # a row found by both: the sum
            return self._rows(keys_of(i for i, _ in ranked), [s for _, s in ranked])

    def count(self, where: str | None = None) -> int:
        node = parse_optional(where)
        channels, rest = split_column(node, "channel")
        with self._lock:
            if rest is None:  # no filter, or only on channel: the in-memory indexes answer exactly
                self._ensure_fresh()
                if channels is None:
                    return len(self._meta)
                return sum(len(self._indexes[c]) for c in channels if c in self._indexes)
            try:
                return int(self._table.count_rows(None if node is None else to_lance(node)))
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("count", self.path, exc) from None

    def source_hash(self, source: str) -> str | None:
        """The source's hash; ``None`` if absent or if its rows disagree (an interrupted replace)."""
        with self._lock:
            self._ensure_fresh()
            if self._hashes is None:
                self._hashes, self._unsure = lt.source_hashes(self._table, self.path), set()
            if source in self._unsure:
                found = lt.source_hashes(self._table, self.path, to_lance(Cmp("source", "=", source)))
                self._hashes.pop(source, None)
                self._hashes.update(found)
                self._unsure.discard(source)
            return self._hashes.get(source)

    def row_hashes(self, source: str) -> dict[str, str]:
        with self._lock:
            self._ensure_fresh()
            sql = to_lance(Cmp("source", "=", source))
            try:
                res = self._table.search().where(sql).select(["id", "source_hash"]).limit(None).to_arrow()
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("reading row hashes", self.path, exc) from None
            return dict(zip(res.column("id").to_pylist(), res.column("source_hash").to_pylist()))

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            self._ensure_fresh()
            return lt.summarize(lt.source_summary(self._table, self.path))

    def thumbnail(self, segment_id: str) -> bytes | None:
        with self._lock:
            return lt.read_thumbnail(self._table, segment_id, self.path)

    def sample_vectors(self, channel: str, n: int, seed: int = 0) -> np.ndarray:
        with self._lock:
            self._ensure_fresh()
            index = self._indexes.get(channel)
            if index is None or n <= 0:
                return np.zeros((0, self.dim), dtype=np.float32)
            return index.sample(int(n), seed)

    def index_vectors(self, ids: Sequence[str], channel: str) -> dict[str, np.ndarray]:
        """Vectors of these row ids of one channel from the in-memory ANN index (float16
        precision, no table read: ~0.6 ms for 30 ids at 100k rows, against ~9 ms for
        ``vectors``); for similarity checks such as folding near-duplicate hits."""
        wanted = [str(i) for i in ids]
        with self._lock:
            self._ensure_fresh()
            index = self._indexes.get(channel)
            if index is None or not wanted:
                return {}
            keys = keys_of(wanted)
            have = index.contains(keys)
            found = index.vectors(keys[have])
        return dict(zip([i for i, h in zip(wanted, have) if h], found))

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these row ids (``segment_id:channel``); unknown ids are left out."""
        wanted = [str(i) for i in ids]
        if not wanted:
            return {}
        with self._lock:
            self._ensure_fresh()
            try:
                res = self._table.search().where(to_lance(In("id", tuple(wanted)))).select(["id", "vector"]).limit(None).to_arrow()
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("reading vectors", self.path, exc) from None
        got = res.column("vector").to_pylist()
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(res.column("id").to_pylist(), got)}

    def similarity_vectors(self, ids: Sequence[str], channel: str) -> dict[str, np.ndarray]:
        """``VectorStore.similarity_vectors``: ``index_vectors`` (in memory, float16)."""
        return self.index_vectors(ids, channel)


__all__ = ["LanceReads"]
