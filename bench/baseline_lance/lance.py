"""LanceDB store: an index is a folder.

Layout::

    my-index/
      rows.lance/        LanceDB table ``rows``: the record of truth
      mmrag.json         index metadata document (space spec ...), written atomically
      ann/               per-channel in-process vector indexes (a cache, rebuildable)
        state.json       {"table_version": V, ...} written last

The hot search path does not go through LanceDB: each channel has a
``VectorIndex`` (exact numpy scan while small, hnswlib HNSW above
``store.ann_threshold``) and all row metadata except vectors and thumbnail
bytes lives in memory, so ``search`` costs one graph walk plus a dict lookup.
Filters on ``channel`` pick the indexes; other filters post-filter
oversampled candidates in Python, and fall back to LanceDB's exact
prefiltered scan when too few survive.

Consistency: every write appends the ids it touches to ``ann/``'s journal,
commits to LanceDB, then updates the in-memory indexes; if that update is
interrupted the store is marked dirty and rebuilt from LanceDB before the
next read. A writer saves ``ann/`` every ``store.ann_save_rows`` changed rows
(or 20% of the index) and on ``close()``; opening loads the last save and
replays the journal (those ids re-read from the table), so ``kill -9`` at any
moment costs a replay, never a rebuild or wrong results (see
``lance_table``). A missing or unusable ``ann/`` is rebuilt from the table.

Read-only use (search, info, sources) never writes: not the table (the
full-text index is created and folded on the write path; LanceDB searches
rows not yet folded in), not ``ann/``. One process writes an index at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np

import baseline_lance.lance_table as lt
from baseline_lance.hnsw import HnswParams, VectorIndex
from mmrag.config import Config
from mmrag.errors import StoreError
from mmrag.stores.base import Row, ScoredRow, SourceInfo, quote
from mmrag.stores.common import NoIndex, check_k, check_query, check_rows, summarize_sources
from mmrag.stores.filters import And, Cmp, In, Node, parse, parse_optional, predicate, split_column, to_lance

log = logging.getLogger(__name__)
SCALAR_INDEX_MIN_ROWS = 20_000  # from here on: BTREE indexes and the two-commit replace_source


class LanceStore:
    """``VectorStore`` on an embedded LanceDB folder; see the module docstring."""

    def __init__(self, location: str, dim: int | None, config: Config | None = None) -> None:
        """Open or create the index folder; ``dim=None`` opens an existing index with its own dim."""
        cfg = (config or Config()).store
        self.path = lt.lance_path(location)
        if dim is None:
            dim = lt.stored_dim(self.path)
            if dim is None:
                raise NoIndex(f"no mmrag index at {self.path}. Create it by adding files to it.")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise StoreError(f"dim must be a positive int, got {dim!r}.")
        self.dim = dim
        self._params = HnswParams(cfg.ann_threshold, cfg.hnsw_m, cfg.hnsw_ef_construction, cfg.hnsw_ef_search)
        self._lock = threading.RLock()
        self._rows: dict[str, Row] = {}
        self._by_source: dict[str, set[str]] = {}
        self._indexes: dict[str, VectorIndex] = {}
        self._dirty = False  # in-memory state may disagree with the table: rebuild before reading
        self._indexes_saved = False  # ann/ on disk matches the in-memory indexes
        self._state: dict[str, Any] | None = None  # the ann/ sidecar this store journals against
        self._invalidated = False  # ann/state.json removed (this store writes without a sidecar)
        self._wrote = False
        self._since_save = 0  # rows changed since ann/ was last saved
        self._save_rows = max(1, int(cfg.ann_save_rows))
        self._has_fts = False
        self._scalar_indexed = False
        self._closed = False
        # set by a process that does not hold the index's writer lock (mmrag.lock): then no
        # search ever commits to the table (no full-text index upkeep); the writer keeps it fresh
        self.read_only = False
        self._table = lt.open_table(self.path, dim)
        self._load()

    # -- loading / persistence ---------------------------------------------------
    def _load(self) -> None:
        started = time.perf_counter()
        self._rows = lt.read_rows(self._table)
        self._by_source = {}
        for row in self._rows.values():
            self._by_source.setdefault(row.source, set()).add(row.id)
        if not self._load_sidecar():
            self._rebuild_indexes()
        self._has_fts = lt.has_fts(self._table)
        self._dirty = False
        log.debug("opened %s: %d rows in %.2fs", self.path, len(self._rows), time.perf_counter() - started)

    def _load_sidecar(self) -> bool:
        """The saved indexes plus the journal's replay; ``False`` when a rebuild is needed."""
        root = self.path / lt.ANN_DIR
        found = lt.load_sidecar(root, self.dim, self._params)
        self._state = None
        if found is None:
            return False
        indexes, state = found
        touched = lt.journal_ids(root, state)
        if len(touched) > max(50_000, len(self._rows) // 2):  # a rebuild is cheaper
            return False
        if touched:
            present = lt.read_vectors(self._table, sorted(touched), self.dim)
            for index in indexes.values():
                index.remove(list(touched))
            by_channel: dict[str, tuple[list[str], list[np.ndarray]]] = {}
            for row_id, (channel, vec) in present.items():
                ids, vecs = by_channel.setdefault(channel, ([], []))
                ids.append(row_id)
                vecs.append(vec)
            for channel, (ids, vecs) in by_channel.items():
                indexes.setdefault(channel, VectorIndex(self.dim, self._params)).add(ids, np.stack(vecs))
            indexes = {c: index for c, index in indexes.items() if len(index)}
            log.info("replayed %d journaled rows into the vector indexes of %s", len(touched), self.path)
        if not lt.matches(indexes, self._rows.values()):
            return False
        self._indexes, self._state = indexes, state
        self._indexes_saved, self._since_save = not touched, len(touched)
        return True

    def _rebuild_indexes(self) -> None:
        started = time.perf_counter()
        self._indexes = lt.build_indexes(self._table, self.dim, self._params)
        self._indexes_saved, self._since_save = False, len(self._rows)
        if self._rows:
            took = time.perf_counter() - started
            log.info("rebuilt vector indexes of %s (%d rows) in %.1fs", self.path, len(self._rows), took)

    def _ensure_fresh(self) -> None:
        if self._dirty:
            self._load()

    def flush(self) -> None:
        """Save ``ann/`` (a writer's call: ``close`` does it for a store that wrote)."""
        with self._lock:
            self._ensure_fresh()
            if self._indexes_saved and self._state is not None:
                return
            root = self.path / lt.ANN_DIR
            self._state = lt.save_sidecar(root, self._indexes, self._table.version, self.dim, len(self._rows))
            self._indexes_saved, self._since_save = True, 0

    def close(self) -> None:
        """Release the index; a store that wrote folds new rows into the text index and saves ``ann/``."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._wrote:
                    lt.fold_fts(self._table, self.path, max(10_000, len(self._rows) // 10))
                    self.flush()
            finally:
                self._closed = True

    def _journal(self, ids: Sequence[str]) -> None:
        """Before a commit: name its ids in ann/'s journal (or drop a sidecar this store cannot journal to)."""
        self._wrote = True
        root = self.path / lt.ANN_DIR
        if self._state is not None:
            lt.append_journal(root, self._state, ids)
        elif not self._invalidated:
            (root / lt.STATE).unlink(missing_ok=True)  # a stale sidecar must not outlive these writes
            self._invalidated = True

    def _after_write(self, changed: int) -> None:
        """On the write path: create the text index once; save ann/ every so many changed rows."""
        if not self._has_fts and self._rows:
            lt.ensure_fts(self._table, self.path)
            self._has_fts = True
        self._since_save += changed
        if self._since_save >= max(self._save_rows, len(self._rows) // 5):
            self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata document ----------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        return lt.read_meta_file(self.path / lt.META_FILE)

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        lt.write_meta_file(self.path / lt.META_FILE, meta)

    # -- writes ------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        batch = check_rows(rows, self.dim)
        if not batch:
            return
        with self._lock:
            self._ensure_fresh()
            data = lt.rows_to_arrow(batch, self.dim)
            self._journal([r.id for r in batch])
            try:
                if any(r.id in self._rows for r in batch):
                    (
                        self._table.merge_insert("id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .execute(data)
                    )
                else:
                    self._table.add(data)
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("upsert", self.path, exc) from None
            self._apply(batch, ())
            if not self._scalar_indexed and len(self._rows) >= SCALAR_INDEX_MIN_ROWS:
                lt.ensure_scalar_indexes(self._table, self.path)
                self._scalar_indexed = True
            self._after_write(len(batch))

    def replace_source(self, source: str, rows: Sequence[Row]) -> None:
        """Make ``rows`` the source's rows.

        Small tables: one atomic LanceDB commit (merge_insert with
        ``when_not_matched_by_source_delete``). That join reads the whole
        table (~1 s at 100k rows), so from ``SCALAR_INDEX_MIN_ROWS`` rows on,
        the new rows are committed first (BTREE-indexed upsert, ~50 ms) and
        the source's other rows deleted after. Readers then never see the
        source empty; if a crash falls between the two commits the source has
        mixed hashes and ``source_hash`` reports ``None``, so it is re-added.
        """
        batch = check_rows(rows, self.dim, source=source)
        with self._lock:
            self._ensure_fresh()
            old = set(self._by_source.get(source, set()))
            if not batch:
                if old:
                    self.delete(f"source = {quote(source)}")
                return
            new_ids = {r.id for r in batch}
            stale = sorted(i for i in old if i not in new_ids)
            if len(self._rows) < SCALAR_INDEX_MIN_ROWS:
                self._journal([*new_ids, *stale])
                try:  # one commit: update + insert + delete the source's other rows
                    (
                        self._table.merge_insert("id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(to_lance(Cmp("source", "=", source)))
                        .execute(lt.rows_to_arrow(batch, self.dim))
                    )
                except (OSError, ValueError, RuntimeError) as exc:
                    raise lt.store_error("replace_source", self.path, exc) from None
                self._apply(batch, stale)
                self._after_write(len(batch) + len(stale))
                return
            self.upsert(batch)
            for lo in range(0, len(stale), 1000):
                chunk = tuple(stale[lo : lo + 1000])
                self._journal(chunk)
                try:
                    self._table.delete(to_lance(In("id", chunk)))
                except (OSError, ValueError, RuntimeError) as exc:
                    raise lt.store_error("replace_source (removing old rows)", self.path, exc) from None
                self._apply((), chunk)
                self._after_write(len(chunk))

    def delete(self, where: str) -> int:
        node = parse(where)
        sql = to_lance(node)
        with self._lock:
            self._ensure_fresh()
            try:
                ids = (
                    self._table.search()
                    .where(sql)
                    .select(["id"])
                    .limit(None)
                    .to_arrow()
                    .column("id")
                    .to_pylist()
                )
                if not ids:
                    return 0
                self._journal(ids)
                result = self._table.delete(sql)
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("delete", self.path, exc) from None
            self._apply((), ids)
            self._after_write(len(ids))
            return int(getattr(result, "num_deleted_rows", len(ids)))

    def _apply(self, added: Sequence[Row], removed: Sequence[str]) -> None:
        """Mirror a committed write in memory; on any interruption, rebuild later."""
        try:
            self._indexes_saved = False
            gone: dict[str, list[str]] = {}
            for row_id in removed:
                row = self._rows.pop(row_id, None)
                if row is not None:
                    gone.setdefault(row.channel, []).append(row_id)
                    self._drop_from_source(row)
            for row in added:
                prev = self._rows.get(row.id)
                if prev is not None and prev.channel != row.channel:
                    gone.setdefault(prev.channel, []).append(row.id)
                if prev is not None:
                    self._drop_from_source(prev)
                self._rows[row.id] = lt.cached_row(row)
                self._by_source.setdefault(row.source, set()).add(row.id)
            for channel, ids in gone.items():
                self._indexes[channel].remove(ids)
                if not len(self._indexes[channel]):
                    del self._indexes[channel]
            by_channel: dict[str, list[Row]] = {}
            for row in added:
                by_channel.setdefault(row.channel, []).append(row)
            for channel, group in by_channel.items():
                index = self._indexes.setdefault(channel, VectorIndex(self.dim, self._params))
                index.add([r.id for r in group], np.stack([np.asarray(r.vector, np.float32) for r in group]))
        except BaseException:
            self._dirty = True
            raise

    def _drop_from_source(self, row: Row) -> None:
        ids = self._by_source.get(row.source)
        if ids is not None:
            ids.discard(row.id)
            if not ids:
                del self._by_source[row.source]

    # -- reads --------------------------------------------------------------------------
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
                test, rows = predicate(rest), self._rows
                keep = lambda row_id: test(rows[row_id])
            found: list[tuple[str, float]] = []
            for name in names:
                index = self._indexes[name]
                if keep is None:
                    ids, scores = index.query(q, k)
                else:
                    ids, scores, complete = index.query_filtered(q, k, keep, max(4096, 64 * k))
                    if not complete:
                        both: Node = (
                            Cmp("channel", "=", name)
                            if rest is None
                            else And((Cmp("channel", "=", name), rest))
                        )
                        ids, scores = lt.exact_search(self._table, q, k, to_lance(both), self.path)
                found.extend(zip(ids, scores.tolist()))
            found.sort(key=lambda item: -item[1])
            return [ScoredRow(self._rows[i], s) for i, s in found[:k]]

    def text_search(self, query: str, k: int, where: str | None = None) -> list[ScoredRow]:
        from lancedb.query import MatchQuery

        if not isinstance(query, str):
            raise StoreError(f"text_search needs a string query, got {type(query).__name__}.")
        k = check_k(k)
        node = parse_optional(where)
        with self._lock:
            self._ensure_fresh()
            if not query.strip() or k == 0 or not self._rows:
                return []
            if not self._has_fts:  # an index written before text indexes were made on add: scan, read-only
                found = lt.text_scan(self._table, query, k, None if node is None else to_lance(node), self.path)
                return [ScoredRow(self._rows[i], s) for i, s in found if i in self._rows]
            try:
                match = MatchQuery(query, "text")  # type: ignore[call-arg]
                builder = self._table.search(match, query_type="fts")
                if node is not None:
                    builder = builder.where(to_lance(node), prefilter=True)
                res = builder.limit(k).select(["id", "_score"]).to_arrow()
            except (OSError, ValueError, RuntimeError) as exc:
                if self.read_only:  # e.g. no full-text index yet: a reader goes on with the dense lists
                    log.debug("full-text search skipped in %s: %s", self.path, exc)
                    return []
                raise lt.store_error("full-text search", self.path, exc) from None
            ids, scores = res.column("id").to_pylist(), res.column("_score").to_pylist()
            return [ScoredRow(self._rows[i], float(s)) for i, s in zip(ids, scores) if i in self._rows]

    def refresh_text_index(self) -> None:
        """After a writer's batch: make the full-text index and fold new rows into it
        once enough are unindexed (readers never write; they search unfolded rows too)."""
        with self._lock:
            if not self._rows:
                return
            self._wrote = True
            if not self._has_fts:
                lt.ensure_fts(self._table, self.path)
                self._has_fts = True
            lt.fold_fts(self._table, self.path, max(10_000, len(self._rows) // 10))

    def optimize(self) -> None:
        """Compact the table and bring the full-text index up to date (a write)."""
        with self._lock:
            self._wrote = True
            if not self._has_fts and self._rows:
                lt.ensure_fts(self._table, self.path)
                self._has_fts = True
            try:
                self._table.optimize()
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("optimize", self.path, exc) from None

    def count(self, where: str | None = None) -> int:
        node = parse_optional(where)
        channels, rest = split_column(node, "channel")
        with self._lock:
            if rest is None:  # no filter, or only on channel: the in-memory mirror answers exactly
                self._ensure_fresh()
                if channels is None:
                    return len(self._rows)
                return sum(len(self._indexes[c]) for c in channels if c in self._indexes)
            try:
                return int(self._table.count_rows(None if node is None else to_lance(node)))
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("count", self.path, exc) from None

    def source_hash(self, source: str) -> str | None:
        """The source's hash; ``None`` if absent or if its rows disagree (an interrupted replace)."""
        with self._lock:
            self._ensure_fresh()
            hashes = {self._rows[i].source_hash for i in self._by_source.get(source, ())}
            return hashes.pop() if len(hashes) == 1 else None

    def row_hashes(self, source: str) -> dict[str, str]:
        with self._lock:
            self._ensure_fresh()
            return {i: self._rows[i].source_hash for i in self._by_source.get(source, ())}

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            self._ensure_fresh()
            return summarize_sources(self._rows.values())

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


__all__ = ["LanceStore"]
