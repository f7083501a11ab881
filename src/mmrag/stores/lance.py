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

Consistency: every write commits to LanceDB first, then updates the
in-memory indexes; if that update is interrupted the store is marked dirty
and rebuilt from LanceDB before the next read. ``ann/`` is saved on
``close()``/``flush()`` with the table version it reflects; on open a missing
or stale ``ann/`` is rebuilt from the table. A crash therefore costs a
rebuild, never wrong results. One process writes an index at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import pyarrow as pa

from mmrag.config import Config
from mmrag.errors import IndexError_, SpaceMismatch, StoreError
from mmrag.stores.base import Row, ScoredRow, SourceInfo, quote
from mmrag.stores.common import NoIndex, check_k, check_meta, check_query, check_rows, summarize_sources
from mmrag.stores.filters import And, Cmp, In, Node, parse, parse_optional, predicate, split_column, to_lance
from mmrag.stores.hnsw import HnswParams, VectorIndex, write_json_atomic

log = logging.getLogger(__name__)
TABLE = "rows"
META_FILE = "mmrag.json"
ANN_DIR = "ann"
_EMPTY = np.zeros(0, dtype=np.float32)
SCALAR_INDEX_MIN_ROWS = 20_000  # from here on: BTREE indexes and the two-commit replace_source
_SCALAR_INDEXED = ("id", "source", "segment_id")
_META_COLUMNS = ("id", "segment_id", "source", "source_hash", "modality", "channel", "text",
                 "page", "t0", "t1", "start", "end", "meta", "added_at")


def row_schema(dim: int) -> pa.Schema:
    return pa.schema([
        ("id", pa.string()), ("segment_id", pa.string()), ("source", pa.string()),
        ("source_hash", pa.string()), ("modality", pa.string()), ("channel", pa.string()),
        ("vector", pa.list_(pa.float32(), dim)), ("text", pa.string()), ("page", pa.int64()),
        ("t0", pa.float64()), ("t1", pa.float64()), ("start", pa.int64()), ("end", pa.int64()),
        ("meta", pa.string()), ("thumbnail", pa.binary()), ("added_at", pa.float64()),
    ])


def rows_to_arrow(rows: Sequence[Row], dim: int) -> pa.Table:
    vecs = np.stack([np.asarray(r.vector, dtype=np.float32) for r in rows]).reshape(-1)
    cols: dict[str, Any] = {name: [getattr(r, name) for r in rows] for name in _META_COLUMNS}
    cols["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vecs, pa.float32()), dim)
    cols["thumbnail"] = [bytes(r.thumbnail) for r in rows]
    return pa.Table.from_pydict(cols, schema=row_schema(dim))


def _cached(row: Row) -> Row:
    """The in-memory copy of a row: no vector, no thumbnail bytes."""
    return Row(row.id, row.segment_id, row.source, row.source_hash, row.modality, row.channel, _EMPTY,
               row.text, int(row.page), float(row.t0), float(row.t1), int(row.start), int(row.end),
               row.meta, b"", float(row.added_at), bool(row.thumbnail))


def _store_error(what: str, path: Path, exc: Exception) -> StoreError:
    return StoreError(f"LanceDB {what} failed for index {path}: {exc}. Check the folder is writable and not "
                      "damaged; a damaged index can be rebuilt by adding the sources to a new folder.")


def lance_path(location: str) -> Path:
    loc = str(location)
    for prefix in ("lance://", "lance:"):
        loc = loc.removeprefix(prefix)
    return Path(loc).expanduser()


def stored_dim(path: Path) -> int | None:
    """The vector dim of the index folder at ``path``, or ``None`` if there is none."""
    if not (path / f"{TABLE}.lance").is_dir():
        return None
    try:
        import lancedb

        table = lancedb.connect(str(path)).open_table(TABLE)
        return int(table.schema.field("vector").type.list_size)
    except (OSError, ValueError, RuntimeError, KeyError, AttributeError) as exc:
        raise IndexError_(f"the index at {path} is unreadable ({exc}). Restore it or rebuild it.") from None


class LanceStore:
    """``VectorStore`` on an embedded LanceDB folder; see the module docstring."""

    def __init__(self, location: str, dim: int | None, config: Config | None = None) -> None:
        """Open or create the index folder; ``dim=None`` opens an existing index with its own dim."""
        cfg = (config or Config()).store
        self.path = lance_path(location)
        if dim is None:
            dim = stored_dim(self.path)
            if dim is None:
                raise NoIndex(f"no mmrag index at {self.path}. Create it by adding files to it.")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise StoreError(f"dim must be a positive int, got {dim!r}.")
        self.dim = dim
        self._params = HnswParams(threshold=cfg.ann_threshold, m=cfg.hnsw_m,
                                  ef_construction=cfg.hnsw_ef_construction, ef_search=cfg.hnsw_ef_search)
        self._lock = threading.RLock()
        self._rows: dict[str, Row] = {}
        self._by_source: dict[str, set[str]] = {}
        self._indexes: dict[str, VectorIndex] = {}
        self._dirty = False  # in-memory state may disagree with the table: rebuild before reading
        self._indexes_saved = False  # ann/ on disk matches the in-memory indexes
        self._fts_stale = True
        self._scalar_indexed = False
        self._closed = False
        try:
            import lancedb

            if self.path.exists() and not self.path.is_dir():
                raise IndexError_(f"{self.path} is a file, not an index folder. Choose a folder path.")
            self.path.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self.path))
            if TABLE in self._db.list_tables().tables:
                self._table = self._db.open_table(TABLE)
            else:
                self._table = self._db.create_table(TABLE, schema=row_schema(dim))
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexError_(f"cannot open LanceDB index at {self.path}: {exc}. Check the path and "
                              "permissions.") from None
        found = self._table.schema.field("vector").type
        if getattr(found, "list_size", dim) != dim:
            raise SpaceMismatch(f"index {self.path} stores {found.list_size}-d vectors, not {dim}-d. Open it with "
                                "the space it was built with, or use a new index folder.")
        self._load()

    # -- loading / persistence ---------------------------------------------------
    def _load(self) -> None:
        started = time.perf_counter()
        self._rows, self._by_source = {}, {}
        cols: dict[str, Any] = {c: f"`{c}`" for c in _META_COLUMNS}
        cols["has_thumb"] = "thumbnail != X''"
        data = self._table.search().select(cols).limit(None).to_arrow()
        pyc = {name: data.column(name).to_pylist() for name in data.column_names}
        for values in zip(*(pyc[c] for c in (*_META_COLUMNS, "has_thumb"))):
            row = Row(values[0], values[1], values[2], values[3], values[4], values[5], _EMPTY, values[6],
                      values[7], values[8], values[9], values[10], values[11], values[12], b"", values[13],
                      bool(values[14]))
            self._rows[row.id] = row
            self._by_source.setdefault(row.source, set()).add(row.id)
        if not self._load_sidecar():
            self._rebuild_indexes()
        self._dirty = False
        log.debug("opened %s: %d rows in %.2fs", self.path, len(self._rows), time.perf_counter() - started)

    def _load_sidecar(self) -> bool:
        folder = self.path / ANN_DIR
        try:
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            if state.get("table_version") != self._table.version or state.get("dim") != self.dim:
                return False
            indexes = {ch: VectorIndex.load(folder, stem, self.dim, self._params)
                       for ch, stem in state["channels"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, StoreError):
            return False
        wanted: dict[str, set[str]] = {}
        for row in self._rows.values():
            wanted.setdefault(row.channel, set()).add(row.id)
        if set(indexes) != set(wanted) or any(set(indexes[c].ids()) != ids for c, ids in wanted.items()):
            return False
        self._indexes, self._indexes_saved = indexes, True
        return True

    def _rebuild_indexes(self) -> None:
        started = time.perf_counter()
        self._indexes = {}
        scan = self._table.search().select(["id", "channel", "vector"]).limit(None).to_batches()
        for batch in scan:
            ids = batch.column("id").to_pylist()
            channels = batch.column("channel").to_pylist()
            flat = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
            vecs = np.asarray(flat, dtype=np.float32).reshape(-1, self.dim)
            for channel in set(channels):
                pick = [i for i, c in enumerate(channels) if c == channel]
                index = self._indexes.setdefault(channel, VectorIndex(self.dim, self._params))
                index.add([ids[i] for i in pick], vecs[pick])
        self._indexes_saved = False
        if self._rows:
            log.info("rebuilt vector indexes of %s (%d rows) in %.1fs", self.path, len(self._rows),
                     time.perf_counter() - started)

    def _ensure_fresh(self) -> None:
        if self._dirty:
            self._load()

    def flush(self) -> None:
        """Save ``ann/`` so the next open does not rebuild it."""
        with self._lock:
            self._ensure_fresh()
            folder = self.path / ANN_DIR
            state_path = folder / "state.json"
            if not self._indexes_saved:
                folder.mkdir(parents=True, exist_ok=True)
                state_path.unlink(missing_ok=True)  # no state while files are in flux: a crash means rebuild
                for old in folder.iterdir():
                    old.unlink()
                stems = {}
                for channel, index in self._indexes.items():
                    stems[channel] = "ch-" + hashlib.blake2b(channel.encode("utf-8"), digest_size=8).hexdigest()
                    index.save(folder, stems[channel])
                self._write_state(stems)
                self._indexes_saved = True
            else:
                try:
                    state = json.loads(state_path.read_text(encoding="utf-8"))
                    if state.get("table_version") != self._table.version:
                        self._write_state(state["channels"])
                except (OSError, ValueError, KeyError):
                    self._indexes_saved = False
                    self.flush()

    def _write_state(self, stems: Mapping[str, str]) -> None:
        write_json_atomic(self.path / ANN_DIR / "state.json",
                          {"format": 1, "dim": self.dim, "table_version": self._table.version,
                           "channels": dict(stems), "rows": len(self._rows)})

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self.flush()
            finally:
                self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata document ----------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        path = self.path / META_FILE
        if not path.exists():
            return None
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexError_(f"{path} is unreadable ({exc}). Restore it or rebuild the index.") from None
        if not isinstance(value, dict):
            raise IndexError_(f"{path} does not hold a JSON object. Restore it or rebuild the index.")
        return value

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        text = check_meta(meta)
        try:
            write_json_atomic(self.path / META_FILE, json.loads(text))
        except OSError as exc:
            raise _store_error("metadata write", self.path, exc) from None

    # -- writes ------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        batch = check_rows(rows, self.dim)
        if not batch:
            return
        with self._lock:
            self._ensure_fresh()
            data = rows_to_arrow(batch, self.dim)
            try:
                if any(r.id in self._rows for r in batch):
                    (self._table.merge_insert("id").when_matched_update_all()
                     .when_not_matched_insert_all().execute(data))
                else:
                    self._table.add(data)
            except (OSError, ValueError, RuntimeError) as exc:
                raise _store_error("upsert", self.path, exc) from None
            self._apply(batch, ())
            self._ensure_scalar_indexes()

    def _ensure_scalar_indexes(self) -> None:
        """BTREE indexes on id/source/segment_id once the table is large (fast merges and lookups)."""
        from lancedb.index import BTree

        if self._scalar_indexed or len(self._rows) < SCALAR_INDEX_MIN_ROWS:
            return
        try:
            have = {tuple(i.columns) for i in self._table.list_indices()}
            for column in _SCALAR_INDEXED:
                if (column,) not in have:
                    self._table.create_index(column, config=BTree())
        except (OSError, ValueError, RuntimeError) as exc:  # an optimisation: searches stay correct without
            log.warning("could not create scalar indexes in %s: %s", self.path, exc)
        self._scalar_indexed = True

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
        batch = check_rows(rows, self.dim)
        for row in batch:
            if row.source != source:
                raise StoreError(f"replace_source({source!r}) got a row of source {row.source!r}. "
                                 "Pass only that source's rows.")
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
                try:  # one commit: update + insert + delete the source's other rows
                    (self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
                     .when_not_matched_by_source_delete(to_lance(Cmp("source", "=", source)))
                     .execute(rows_to_arrow(batch, self.dim)))
                except (OSError, ValueError, RuntimeError) as exc:
                    raise _store_error("replace_source", self.path, exc) from None
                self._apply(batch, stale)
                return
            self.upsert(batch)
            for lo in range(0, len(stale), 1000):
                chunk = tuple(stale[lo:lo + 1000])
                try:
                    self._table.delete(to_lance(In("id", chunk)))
                except (OSError, ValueError, RuntimeError) as exc:
                    raise _store_error("replace_source (removing old rows)", self.path, exc) from None
                self._apply((), chunk)

    def delete(self, where: str) -> int:
        node = parse(where)
        sql = to_lance(node)
        with self._lock:
            self._ensure_fresh()
            try:
                ids = self._table.search().where(sql).select(["id"]).limit(None).to_arrow().column("id").to_pylist()
                if not ids:
                    return 0
                result = self._table.delete(sql)
            except (OSError, ValueError, RuntimeError) as exc:
                raise _store_error("delete", self.path, exc) from None
            self._apply((), ids)
            return int(getattr(result, "num_deleted_rows", len(ids)))

    def _apply(self, added: Sequence[Row], removed: Sequence[str]) -> None:
        """Mirror a committed write in memory; on any interruption, rebuild later."""
        try:
            self._indexes_saved = False
            self._fts_stale = True
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
                self._rows[row.id] = _cached(row)
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
                        ids, scores = self._lance_search(q, k, name, rest)
                found.extend(zip(ids, scores.tolist()))
            found.sort(key=lambda item: -item[1])
            return [ScoredRow(self._rows[i], s) for i, s in found[:k]]

    def _lance_search(self, q: np.ndarray, k: int, channel: str, rest: Node | None) -> tuple[list[str], np.ndarray]:
        """Exact prefiltered search in LanceDB (the fallback for very selective filters)."""
        node: Node = Cmp("channel", "=", channel) if rest is None else And((Cmp("channel", "=", channel), rest))
        try:
            query: Any = self._table.search(q)
            res = (query.distance_type("dot").where(to_lance(node), prefilter=True)
                   .bypass_vector_index().limit(k).select(["id", "_distance"]).to_arrow())
        except (OSError, ValueError, RuntimeError) as exc:
            raise _store_error("filtered search", self.path, exc) from None
        return res.column("id").to_pylist(), 1.0 - res.column("_distance").to_numpy().astype(np.float32)

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
            self._ensure_fts()
            try:
                builder = self._table.search(MatchQuery(query, "text"), query_type="fts")  # type: ignore[call-arg]
                if node is not None:
                    builder = builder.where(to_lance(node), prefilter=True)
                res = builder.limit(k).select(["id", "_score"]).to_arrow()
            except (OSError, ValueError, RuntimeError) as exc:
                raise _store_error("full-text search", self.path, exc) from None
            ids, scores = res.column("id").to_pylist(), res.column("_score").to_pylist()
            return [ScoredRow(self._rows[i], float(s)) for i, s in zip(ids, scores) if i in self._rows]

    def _ensure_fts(self) -> None:
        from lancedb.index import FTS

        if not self._fts_stale:
            return
        try:
            fts = [i for i in self._table.list_indices() if i.index_type == "FTS" and i.columns == ["text"]]
            if not fts:
                self._table.create_index("text", config=FTS(), replace=True)
            elif (getattr(self._table.index_stats(fts[0].name), "num_unindexed_rows", 0) or 0) > 0:
                self._table.optimize()  # folds new rows into the FTS index (and compacts)
        except (OSError, ValueError, RuntimeError) as exc:
            raise _store_error("full-text index update", self.path, exc) from None
        self._fts_stale = False

    def optimize(self) -> None:
        """Compact the table and bring the full-text index up to date."""
        with self._lock:
            self._fts_stale = True
            self._ensure_fts()
            try:
                self._table.optimize()
            except (OSError, ValueError, RuntimeError) as exc:
                raise _store_error("optimize", self.path, exc) from None

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
                raise _store_error("count", self.path, exc) from None

    def source_hash(self, source: str) -> str | None:
        """The source's hash; ``None`` if absent or if its rows disagree (an interrupted replace)."""
        with self._lock:
            self._ensure_fresh()
            hashes = {self._rows[i].source_hash for i in self._by_source.get(source, ())}
            return hashes.pop() if len(hashes) == 1 else None

    def sources(self) -> list[SourceInfo]:
        with self._lock:
            self._ensure_fresh()
            return summarize_sources(self._rows.values())

    def thumbnail(self, segment_id: str) -> bytes | None:
        where = f"{to_lance(Cmp('segment_id', '=', str(segment_id)))} AND thumbnail != X''"
        with self._lock:
            try:
                res = self._table.search().where(where).select(["thumbnail"]).limit(1).to_arrow()
            except (OSError, ValueError, RuntimeError) as exc:
                raise _store_error("thumbnail read", self.path, exc) from None
        return bytes(res.column("thumbnail")[0].as_py()) if res.num_rows else None

    def sample_vectors(self, channel: str, n: int, seed: int = 0) -> np.ndarray:
        with self._lock:
            self._ensure_fresh()
            index = self._indexes.get(channel)
            if index is None or n <= 0:
                return np.zeros((0, self.dim), dtype=np.float32)
            return index.sample(int(n), seed)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors of ``ids`` (all must exist), from the in-memory indexes."""
        with self._lock:
            self._ensure_fresh()
            out = np.zeros((len(ids), self.dim), dtype=np.float32)
            for pos, row_id in enumerate(ids):
                row = self._rows.get(row_id)
                if row is None:
                    raise StoreError(f"no row with id {row_id!r} in {self.path}.")
                out[pos] = self._indexes[row.channel].vectors([row_id])[0]
            return out


__all__ = ["LanceStore", "row_schema", "rows_to_arrow"]
