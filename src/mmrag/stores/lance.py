"""LanceDB store: an index is a folder.

Layout::

    my-index/
      rows.lance/        LanceDB table ``rows``: the record of truth
      mmrag.json         index metadata document (space spec ...), written atomically
      ann/               vector indexes + row metadata snapshot + journal (a cache, rebuildable;
                         ``lance_sidecar``)

Memory is bounded: the hot search path holds per-channel vector indexes
keyed by 63-bit keys of the row ids (``ann.VectorIndex``: an exact numpy
scan while small, a faiss IVF index of float16 vectors above
``store.ann_threshold``, memory-mapped when opened), and no row metadata.
The metadata of a search's hits is read by key from ``ann/``'s snapshot
(``lance_meta.RowMeta``, memory-mapped Arrow) plus the rows written since.
Write-path lookups (a source's hash, its row ids) ask LanceDB.

Filters on ``channel`` pick the indexes; other filters post-filter
oversampled candidates, and fall back to LanceDB's exact prefiltered scan
when too few survive.

Consistency: every write appends the ids it touches to ``ann/``'s journal,
commits to LanceDB, then updates the in-memory indexes; if that update is
interrupted the store is marked dirty and rebuilt from LanceDB before the
next read. A writer saves ``ann/`` every ``store.ann_save_rows`` changed rows
(or 20% of the index) and on ``close()``; opening loads the last save and
replays the journal (those ids re-read from the table), so ``kill -9`` at any
moment costs a replay, never a rebuild or wrong results. A missing, older
(format 2 hnswlib, format 3 usearch) or unusable ``ann/`` is rebuilt from the table: in
memory for a reader, saved by a writer.

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
import pyarrow as pa

import mmrag.stores.lance_sidecar as ls
import mmrag.stores.lance_table as lt
from mmrag.config import Config
from mmrag.errors import ConfigError, StoreError
from mmrag.stores.ann import AnnParams, VectorIndex, keys_of, warm_indexes
from mmrag.stores.base import Row
from mmrag.stores.common import NoIndex, check_rows
from mmrag.stores.filters import In, parse, to_lance
from mmrag.stores.lance_meta import RowMeta
from mmrag.stores.lance_reads import LanceReads

log = logging.getLogger(__name__)
SCALAR_INDEX_MIN_ROWS = 20_000  # from here on: BTREE indexes and the two-commit replace_source
NO_KEYS = np.zeros(0, dtype=np.uint64)


class LanceStore(LanceReads):
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
        self._params = AnnParams(threshold=cfg.ann_threshold, nprobe=cfg.ann_nprobe, min_scan=cfg.ann_min_scan,
                                 lists=cfg.ann_lists, dtype=cfg.ann_dtype)
        if cfg.ann_warm not in ("serve", "on", "off"):
            raise ConfigError(f"store.ann_warm must be 'serve', 'on' or 'off', got {cfg.ann_warm!r}. Fix it in mmrag.toml.")
        self._lock = threading.RLock()
        self._indexes: dict[str, VectorIndex] = {}
        self._meta = RowMeta()
        self._hashes: dict[str, str | None] | None = None  # source -> hash, loaded on first use (write path)
        self._unsure: set[str] = set()  # sources whose hash must be re-read from the table
        self._dirty = False  # in-memory state may disagree with the table: rebuild before reading
        self._indexes_saved = False  # ann/ on disk matches the in-memory indexes
        self._state: dict[str, Any] | None = None  # the ann/ sidecar this store journals against
        self._invalidated = False  # ann/state.json removed (this store writes without a sidecar)
        self._wrote = False
        self._since_save = 0  # rows changed since ann/ was last saved
        self._save_rows = max(1, int(cfg.ann_save_rows))
        self._has_fts = False
        self._has_heard_fts = False  # a full-text index on ``heard`` (made once a row holds alternatives)
        self._heard_column = False  # the table has the ``heard`` column (checked on the first write)
        self._scalar_indexed = False
        self._closed = False
        # set by a process that does not hold the index's writer lock (mmrag.lock): then no
        # search ever commits to the table (no full-text index upkeep); the writer keeps it fresh
        self.read_only = False
        self._table = lt.open_table(self.path, dim)
        self._load()
        if cfg.ann_warm == "on":
            self.warm()

    def warm(self, background: bool = True) -> int:
        """Bring the saved vector lists into memory ahead of the searches that read them (``store.ann_warm``;
        ``mmrag serve`` does it by default): in a daemon thread (returns 0 at once; searches go on
        meanwhile) or in this one (returns the bytes brought in). See ``stores/mapped.py``."""
        return warm_indexes(list(self._indexes.values()), str(self.path), background)

    # -- loading / persistence ---------------------------------------------------
    def _load(self) -> None:
        started = time.perf_counter()
        self._hashes, self._unsure = None, set()
        if not self._load_sidecar():
            self._rebuild_indexes()
        fts = lt.fts_columns(self._table)
        self._has_fts, self._has_heard_fts = "text" in fts, "heard" in fts
        self._dirty = False
        log.debug("opened %s: %d rows in %.2fs", self.path, len(self._meta), time.perf_counter() - started)

    def _load_sidecar(self) -> bool:
        """The saved indexes plus the journal's replay; ``False`` when a rebuild is needed."""
        root = self.path / lt.ANN_DIR
        found = ls.load_sidecar(root, self.dim, self._params)
        self._state = None
        if found is None:
            return False
        indexes, meta, state = found
        touched = ls.journal_ids(root, state)
        total = int(self._table.count_rows())
        if len(touched) > max(50_000, total // 2):  # a rebuild is cheaper
            return False
        self._indexes, self._meta = indexes, meta
        if touched:
            try:
                present = ls.read_full(self._table, sorted(touched), self.dim)
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("journal replay", self.path, exc) from None
            self._apply(present, keys_of(touched))
            log.info("replayed %d journaled rows into the vector indexes of %s", len(touched), self.path)
        if len(self._meta) != total or sum(len(i) for i in self._indexes.values()) != total:
            log.info("the vector index of %s does not match its table: rebuilding it", self.path)
            return False
        self._state = state
        self._indexes_saved, self._since_save = not touched, len(touched)
        return True

    def _rebuild_indexes(self) -> None:
        started = time.perf_counter()
        total = int(self._table.count_rows())
        report = time.monotonic()

        def progress(done: int) -> None:
            nonlocal report
            if time.monotonic() - report > 10:
                log.warning("rebuilding the vector index of %s: %d of %d rows", self.path, done, total)
                report = time.monotonic()

        try:
            self._indexes, self._meta = ls.build(self._table, self.dim, self._params, progress)
        except (OSError, ValueError, RuntimeError) as exc:
            raise lt.store_error("vector index rebuild", self.path, exc) from None
        self._indexes_saved, self._since_save = False, total
        if total:
            log.info("rebuilt vector indexes of %s (%d rows) in %.1fs", self.path, total, time.perf_counter() - started)

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
            self._state = ls.save_sidecar(root, self._indexes, self._meta, self._table.version, self.dim)
            self._meta = RowMeta.load(root / self._state["folder"])  # the rows written so far leave memory
            self._indexes_saved, self._since_save = True, 0

    def close(self) -> None:
        """Release the index; a store that wrote folds new rows into the text index and saves ``ann/``."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._wrote:
                    lt.fold_fts(self._table, self.path, lt.fold_threshold(len(self._meta)))
                    self.flush()
            finally:
                self._closed = True

    def _journal(self, ids: Sequence[str]) -> None:
        """Before a commit: name its ids in ann/'s journal (or drop a sidecar this store cannot journal to)."""
        self._wrote = True
        root = self.path / lt.ANN_DIR
        if self._state is not None:
            ls.append_journal(root, self._state, ids)
        elif not self._invalidated:
            (root / ls.STATE).unlink(missing_ok=True)  # a stale sidecar must not outlive these writes
            self._invalidated = True

    def _after_write(self, changed: int, heard: bool = False) -> None:
        """On the write path: create the text index once (and the ``heard`` one once rows hold a
        recogniser's alternatives); save ann/ every so many changed rows."""
        if not self._has_fts and len(self._meta):
            lt.ensure_fts(self._table, self.path)
            self._has_fts = True
        if heard and not self._has_heard_fts:
            lt.ensure_fts(self._table, self.path, "heard")
            self._has_heard_fts = True
        if not self._scalar_indexed and len(self._meta) >= SCALAR_INDEX_MIN_ROWS:
            lt.ensure_scalar_indexes(self._table, self.path)
            self._scalar_indexed = True
        self._since_save += changed
        if self._since_save >= max(self._save_rows, len(self._meta) // 5):
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
            self._commit_rows(batch)
            self._unsure.update(r.source for r in batch)
            self._after_write(len(batch), heard=any(r.heard for r in batch))

    def _writable_table(self) -> None:
        """Before a write: a table from before ``Row.heard`` gets the column (once)."""
        if not self._heard_column:
            lt.ensure_heard_column(self._table, self.path)
            self._heard_column = True

    def _commit_rows(self, batch: Sequence[Row]) -> None:
        """One commit: insert or update ``batch`` (journaled first), then mirror it in memory."""
        self._writable_table()
        data = lt.rows_to_arrow(batch, self.dim)
        keys = keys_of(r.id for r in batch)
        self._journal([r.id for r in batch])
        try:
            if any(index.contains(keys).any() for index in self._indexes.values()):
                self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
            else:
                self._table.add(data)
        except (OSError, ValueError, RuntimeError) as exc:
            raise lt.store_error("upsert", self.path, exc) from None
        self._apply(lt.with_has_thumb(data), NO_KEYS)

    def replace_source(self, source: str, rows: Sequence[Row]) -> None:
        """Make ``rows`` the source's rows (``replace_sources`` with one source)."""
        self.replace_sources([(source, rows)])

    def replace_sources(self, items: Sequence[tuple[str, Sequence[Row]]]) -> None:
        """Make each ``rows`` its source's rows, for many sources in one or two commits.

        Small tables: one atomic LanceDB commit (merge_insert with
        ``when_not_matched_by_source_delete`` on these sources). That join
        reads the whole table (~1 s at 100k rows), so from
        ``SCALAR_INDEX_MIN_ROWS`` rows on, the new rows of every source are
        committed first (one BTREE-indexed upsert) and the sources' other rows
        deleted after. Readers never see part of a source's new rows, nor a
        source empty; if a crash falls between the two commits a source has
        mixed hashes and ``source_hash`` reports ``None``, so it is re-added.
        """
        checked = {source: check_rows(rows, self.dim, source=source) for source, rows in items}
        if not checked:
            return
        with self._lock:
            self._ensure_fresh()
            sources = list(checked)
            batch = [r for rows in checked.values() for r in rows]
            new_ids = {r.id for r in batch}
            stale = sorted(i for i, _ in lt.ids_of_sources(self._table, sources, self.path) if i not in new_ids)
            one_commit = bool(batch) and len(self._meta) < SCALAR_INDEX_MIN_ROWS  # decided before _apply grows _meta
            if one_commit:
                self._writable_table()
                self._journal([*new_ids, *stale])
                data = lt.rows_to_arrow(batch, self.dim)
                try:  # one commit: update + insert + delete these sources' other rows
                    (
                        self._table.merge_insert("id")
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .when_not_matched_by_source_delete(to_lance(In("source", tuple(sources))))
                        .execute(data)
                    )
                except (OSError, ValueError, RuntimeError) as exc:
                    raise lt.store_error("replace_source", self.path, exc) from None
                self._apply(lt.with_has_thumb(data), keys_of(stale))
            elif batch:
                self._commit_rows(batch)
            self._note_hashes(checked)
            self._after_write(len(batch) + len(stale) if one_commit else len(batch), heard=any(r.heard for r in batch))
            if one_commit:
                return
            for lo in range(0, len(stale), 1000):
                chunk = tuple(stale[lo : lo + 1000])
                self._journal(chunk)
                try:
                    self._table.delete(to_lance(In("id", chunk)))
                except (OSError, ValueError, RuntimeError) as exc:
                    self._unsure.update(sources)
                    raise lt.store_error("replace_source (removing old rows)", self.path, exc) from None
                self._apply(None, keys_of(chunk))
                self._after_write(len(chunk))

    def _note_hashes(self, checked: Mapping[str, Sequence[Row]]) -> None:
        if self._hashes is None:
            return
        for source, rows in checked.items():
            hashes = {r.source_hash for r in rows}
            if not rows:
                self._hashes.pop(source, None)
            elif len(hashes) == 1:
                self._hashes[source] = hashes.pop()
            else:
                self._unsure.add(source)

    def delete(self, where: str) -> int:
        node = parse(where)
        sql = to_lance(node)
        with self._lock:
            self._ensure_fresh()
            try:
                res = self._table.search().where(sql).select(["id", "source"]).limit(None).to_arrow()
                ids = res.column("id").to_pylist()
                if not ids:
                    return 0
                self._journal(ids)
                self._unsure.update(res.column("source").to_pylist())
                result = self._table.delete(sql)
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("delete", self.path, exc) from None
            self._apply(None, keys_of(ids))
            self._after_write(len(ids))
            return int(getattr(result, "num_deleted_rows", len(ids)))

    def _apply(self, added: pa.Table | None, removed: np.ndarray) -> None:
        """Mirror a committed write in memory (``added``: LanceDB columns with vectors); on any interruption, rebuild later."""
        try:
            self._indexes_saved = False
            meta = ls.with_keys(added.drop_columns([c for c in ("vector", "thumbnail") if c in added.column_names])) if added is not None and added.num_rows else None
            keys = meta.column("key").to_numpy() if meta is not None else NO_KEYS
            gone = np.concatenate([removed.astype(np.uint64), keys])
            channels = np.array(added.column("channel").to_pylist(), dtype=np.object_) if meta is not None and added is not None else None
            for channel, index in list(self._indexes.items()):  # a key leaves every channel it is not added to
                drop = gone if channels is None else np.concatenate([removed.astype(np.uint64), keys[channels != channel]])
                if len(drop):
                    index.remove(drop)
            self._meta.drop(removed.tolist())
            if meta is not None:
                assert added is not None and channels is not None
                self._meta.put(meta)
                vecs = ls.vectors_of(added, self.dim)
                for channel in set(channels.tolist()):
                    pick = np.flatnonzero(channels == channel)
                    self._indexes.setdefault(channel, VectorIndex(self.dim, self._params)).add(keys[pick], vecs[pick])
            self._indexes = {c: i for c, i in self._indexes.items() if len(i)}
        except BaseException:
            self._dirty = True
            raise

    def refresh_text_index(self) -> None:
        """After a writer's batch: make the full-text index and fold new rows into it
        once enough are unindexed (readers never write; they search unfolded rows too)."""
        with self._lock:
            if not len(self._meta):
                return
            self._wrote = True
            if not self._has_fts:
                lt.ensure_fts(self._table, self.path)
                self._has_fts = True
            lt.fold_fts(self._table, self.path, lt.fold_threshold(len(self._meta)))

    def optimize(self) -> None:
        """Compact the table and bring the full-text index up to date (a write)."""
        with self._lock:
            self._wrote = True
            if not self._has_fts and len(self._meta):
                lt.ensure_fts(self._table, self.path)
                self._has_fts = True
            try:
                self._table.optimize()
            except (OSError, ValueError, RuntimeError) as exc:
                raise lt.store_error("optimize", self.path, exc) from None



__all__ = ["LanceStore"]
