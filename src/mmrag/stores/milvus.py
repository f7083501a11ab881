"""Milvus store: the same ``MilvusClient`` code for Milvus Lite and a cluster.

Locations::

    milvus:./my-index.db        a Milvus Lite file (embedded, single process)
    ./my-index.db               the same (a path ending in .db)
    http://milvus-host:19530    a Milvus server or cluster (https:// too)
    http://host:19530#research  ... with collections named ``research_rows``/``research_meta``

For a cluster, give the token in ``MMRAG_STORE_MILVUS_TOKEN`` (or
``[store] milvus_token`` in mmrag.toml), e.g. ``user:password`` or an API
key, and pick the vector index with ``[store] milvus_index`` (default
``HNSW``; ``AUTOINDEX`` on Zilliz Cloud). Example::

    MMRAG_STORE_MILVUS_TOKEN=root:Milvus mmrag add docs/ --index http://10.0.0.5:19530#team

Collections are created with ``Strong`` consistency so a search right after
an add sees it. Two collections per index: ``<name>_rows`` (one entity per
row; ids are the primary key; numeric span fields use -1 for "unused" since
Milvus has no nulls; thumbnails are base64 text) and ``<name>_meta`` (the
index metadata document as JSON under key ``meta``).

Full-text search uses Milvus' built-in BM25 function (Milvus >= 2.5 and Milvus
Lite; standard tokenizer + lowercase, no stemming). On an older server the
collection is created without it, with a ``term_ids`` array (64-bit ids of
each row's distinct lowercased words); ``text_search`` asks the server for at
most ``TERMS_CANDIDATES`` rows holding the query words and ranks them by BM25
in Python (statistics of those candidates only: see ``milvus_rows.text_terms``).
Collections from before that without a terms array fall back to rows whose
text contains a query word (``like``, case-sensitive: word, Word and WORD are
tried).

Opening loads the rows collection into memory (a server keeps a collection
"released" until someone loads it; a large one can take minutes, shown as
progress lines on the ``mmrag.progress`` logger). Writes are flushed on
``flush()``/``close()``: Milvus Lite keeps unflushed rows in a Python
memtable that every search scans row by row (seconds per search at 20k
rows), while flushed segments get their vector index.

Servers before 2.4 match only prefix ``LIKE 'abc%'`` patterns: other
patterns are widened and re-checked in Python, and without BM25 the text
fallback scans the (filtered) rows' text.

Limits: text and meta longer than 65,535 bytes are cut (at a character
boundary) to fit a VARCHAR; thumbnails whose base64 is longer are not stored.

Reading the rows (consistency, pages, re-checks, text search without BM25) lives in
``milvus_rows``; locations, schemas and rows <-> entities in ``milvus_schema``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

import numpy as np

from mmrag.config import Config
from mmrag.errors import IndexError_, MissingDependency, SpaceMismatch, StoreError
from mmrag.stores.base import Row, ScoredRow, SourceInfo, quote
from mmrag.stores.common import (
    NoIndex,
    check_k,
    check_meta,
    check_query,
    check_rows,
    most_fields,
    summarize_sources,
)
from mmrag.stores.filters import Cmp, In, to_milvus
from mmrag.stores.milvus_rows import (
    BATCH,
    ID_PAGE,
    TEXT_FALLBACK_CANDIDATES,
    RowsReader,
    server_before,
    text_fallback,
    text_scan,
    text_terms,
)
from mmrag.stores.milvus_schema import (
    HEARD_SPARSE,
    OUT_FIELDS,
    VARCHAR_MAX,
    SourceView,
    ensure_collections,
    milvus_address,
    to_entity,
)
from mmrag.stores.sampling import smallest

log = logging.getLogger(__name__)
progress_log = logging.getLogger("mmrag.progress")
LOAD_PROGRESS_EVERY_S = 5.0
CONTENT_SAMPLE_ROWS = 4096  # a channel this small is read whole for its calibration sample (sample_vectors)
COUNT_TTL_S = 30.0  # counts are cached this long (or until this store writes): calibration asks every search
HEARD_COUNT = "\0heard"  # the _counts key of the rows holding Row.heard (no filter string starts with NUL)
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 360_000, "grpc.keepalive_permit_without_calls": 0}


class MilvusStore:
    """``VectorStore`` on Milvus (Lite file or server); see the module docstring."""

    # every read is a round trip to a server: a fused search sends its lists at once (retrieve.search)
    concurrent_reads = True

    def __init__(self, location: str, dim: int | None, config: Config | None = None) -> None:
        """Open or create the collections; ``dim=None`` opens an existing index with its own dim."""
        cfg = (config or Config()).store
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0):
            raise StoreError(f"dim must be a positive int, got {dim!r}.")
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise MissingDependency("pymilvus", "milvus", "the Milvus store") from None
        self.dim = dim or 0
        self.uri, name = milvus_address(location)
        self.rows_name, self.meta_name = f"{name}_rows", f"{name}_meta"
        self._cfg = cfg
        is_server = self.uri.startswith(("http://", "https://", "tcp://", "unix:"))
        token = cfg.milvus_token or os.environ.get("MMRAG_STORE_MILVUS_TOKEN") or ""
        if not is_server:
            parent = os.path.dirname(os.path.abspath(self.uri))
            if not os.path.isdir(parent):
                raise IndexError_(
                    f"folder {parent} for Milvus Lite file {self.uri} does not exist. Create it first."
                )
        if not is_server and not self.dim and not os.path.exists(self.uri):
            raise NoIndex(f"no mmrag index at {self.uri}. Create it by adding files to it.")
        self._client: Any = None
        self._written = False
        self._counts: dict[str, tuple[float, int]] = {}
        try:
            opts: dict[str, Any] = {"token": token} if token else {}
            if not is_server:  # Lite's gRPC server sends GOAWAY to a client that pings an idle channel
                opts["grpc_options"] = LITE_GRPC_OPTIONS  # every 10 s (pymilvus' default): ping rarely
            self._client = MilvusClient(uri=self.uri, **opts)
            self._rows = RowsReader(self._client, self.uri, self.rows_name, server_before(self._client, (2, 4)))
            layout = ensure_collections(
                self._client, self.uri, self.rows_name, self.meta_name, self.dim, cfg,
                try_bm25=not server_before(self._client, (2, 5)),
            )
            self.dim, self._bm25, self._terms, self._heard = layout.dim, layout.bm25, layout.terms, layout.heard
            self._load(self.rows_name)
            self._load(self.meta_name)
        except (StoreError, IndexError_, SpaceMismatch):
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException, grpc errors, OSError ...
            self.close()
            where = "server" if is_server else "Milvus Lite file"
            raise IndexError_(
                f"cannot open Milvus {where} {self.uri}: {exc}. Check the address/token "
                "(server) or that the file is a Milvus Lite database not used by another "
                "process."
            ) from None

    def _load(self, name: str) -> None:
        """Load ``name`` into memory unless it is loaded; progress lines when it takes long."""
        from pymilvus.client.types import LoadState

        if self._client.get_load_state(name).get("state") == LoadState.Loaded:
            return
        started = last = time.monotonic()
        self._client.load_collection(name, _async=True)
        while True:
            state = self._client.get_load_state(name)
            if state.get("state") == LoadState.Loaded:
                break
            if state.get("state") == LoadState.NotExist:
                raise IndexError_(f"Milvus collection {name} at {self.uri} disappeared while loading.")
            now = time.monotonic()
            if now - last >= LOAD_PROGRESS_EVERY_S:
                last = now
                done = state.get("progress", "?")
                progress_log.info("loading Milvus collection %s: %s%% (%.0f s)", name, done, now - started)
            time.sleep(0.2)
        took = time.monotonic() - started
        if took >= LOAD_PROGRESS_EVERY_S:
            progress_log.info("loaded Milvus collection %s in %.0f s", name, took)

    def flush(self) -> None:
        """Seal written rows into indexed segments (a search then walks the index, not a scan)."""
        if self._written:
            self._rows.call("flush", self._client.flush, self.rows_name)
            self._written = False

    # -- helpers --------------------------------------------------------------------
    def _changed(self) -> None:
        self._written = True
        self._counts.clear()
        self._rows.wrote()

    def _delete_ids(self, ids: Sequence[str]) -> None:
        if ids:
            self._changed()
        for i in range(0, len(ids), BATCH):
            self._rows.call("delete", self._client.delete, self.rows_name, ids=list(ids[i : i + BATCH]))
        if ids:
            self._changed()

    # -- metadata document ------------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        got = self._rows.call("meta read", self._client.get, self.meta_name, ids=["meta"], output_fields=["value"])
        if not got:
            return None
        try:
            value = json.loads(got[0]["value"])
        except ValueError:
            raise IndexError_(f"the metadata of {self.uri} is not valid JSON. Rebuild the index.") from None
        return value if isinstance(value, dict) else None

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        text = check_meta(meta)
        if len(text.encode("utf-8")) > VARCHAR_MAX:
            raise StoreError(f"index metadata is {len(text)} characters; Milvus keeps at most {VARCHAR_MAX}.")
        self._rows.call(
            "meta write",
            self._client.upsert,
            self.meta_name,
            data=[{"key": "meta", "value": text, "vector": [0.0, 0.0]}],
        )

    # -- writes ----------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        batch = check_rows(rows, self.dim)
        if batch:
            self._changed()
        for i in range(0, len(batch), BATCH):
            self._rows.call(
                "upsert",
                self._client.upsert,
                self.rows_name,
                data=[to_entity(r, self._terms, self._heard) for r in batch[i : i + BATCH]],
            )
        if batch:
            self._changed()  # again: the fresh window counts from the end of the write

    def replace_source(self, source: str, rows: Sequence[Row]) -> None:
        self.replace_sources([(source, rows)])

    def replace_sources(self, items: Sequence[tuple[str, Sequence[Row]]]) -> None:
        """Replace sources' rows: one upsert of every new row (readers never see a source empty),
        then one delete of their old rows that were not rewritten."""
        checked = {source: check_rows(rows, self.dim, source=source) for source, rows in items}
        if not checked:
            return
        old = self._rows.ids(to_milvus(In("source", tuple(checked))))
        batch = [r for rows in checked.values() for r in rows]
        self.upsert(batch)
        keep = {r.id for r in batch}
        self._delete_ids([i for i in old if i not in keep])

    def delete(self, where: str) -> int:
        ids = self._rows.ids(*self._rows.where(where, required=True))
        self._delete_ids(ids)
        return len(ids)

    # -- reads --------------------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int, where: str | None = None) -> list[ScoredRow]:
        q = check_query(vector, self.dim)
        k = min(check_k(k), 16_384)
        expr, recheck = self._rows.where(where)
        if k == 0:
            return []
        params: dict[str, Any] = {"metric_type": "IP", "params": {}}
        if (self._cfg.milvus_index or "HNSW").upper().startswith("HNSW"):
            params["params"]["ef"] = max(self._cfg.hnsw_ef_search, k)

        def run(limit: int) -> Any:
            if "ef" in params["params"]:
                params["params"]["ef"] = max(params["params"]["ef"], limit)
            return self._client.search(
                self.rows_name,
                data=[q.tolist()],
                anns_field="vector",
                limit=limit,
                filter=expr,
                output_fields=OUT_FIELDS,
                search_params=params,
                consistency_level=self._rows.level(),
            )

        return self._rows.ranked("search", k, recheck, run, lambda d: d)

    def text_search(self, query: str, k: int, where: str | None = None) -> list[ScoredRow]:
        if not isinstance(query, str):
            raise StoreError(f"text_search needs a string query, got {type(query).__name__}.")
        k = min(check_k(k), 16_384)
        expr, recheck = self._rows.where(where)
        if not query.strip() or k == 0:
            return []
        if not self._bm25:
            want = k if recheck is None else min(TEXT_FALLBACK_CANDIDATES, max(8 * k, 256))  # rows re-checked below
            if self._terms:
                found = text_terms(self._rows, query, want, expr, self._terms, self._heard)
            else:
                found = (text_scan if self._rows.prefix_like else text_fallback)(self._rows, query, want, expr)
            return [s for s in found if recheck is None or recheck(s.row)][:k]

        def runner(field: str) -> Callable[[int], Any]:
            def run(limit: int) -> Any:
                return self._client.search(
                    self.rows_name,
                    data=[query],
                    anns_field=field,
                    limit=limit,
                    filter=expr,
                    output_fields=OUT_FIELDS,
                    search_params={"metric_type": "BM25"},
                    consistency_level=self._rows.level(),
                )

            return run

        # Milvus Lite reports BM25 as a negative distance, servers as a positive score
        if not (self._heard and self._holds_heard()):
            return self._rows.ranked("text search", k, recheck, runner("sparse"), abs)
        # and the words a recogniser may also have heard (Row.heard), both at once: a row found by both gets the sum
        with ThreadPoolExecutor(max_workers=2) as pool:
            lists = [pool.submit(self._rows.ranked, "text search", k, recheck, runner(f), abs) for f in ("sparse", HEARD_SPARSE)]
            found, heard = (f.result() for f in lists)
        by_id = {s.row.id: s for s in [*heard, *found]}
        ranked = most_fields([[(s.row.id, s.score) for s in found], [(s.row.id, s.score) for s in heard]], k)
        return [ScoredRow(by_id[key].row, score) for key, score in ranked]

    def _holds_heard(self) -> bool:
        """Whether any row holds words a recogniser may also have heard (cached as counts are): an
        index without speech alternatives pays no second text query."""
        return self._cached_count(HEARD_COUNT, lambda: self._count_expr('heard != ""')) > 0

    def count(self, where: str | None = None) -> int:
        expr, recheck = self._rows.where(where)
        if recheck is not None:
            return self._cached_count(where or "", lambda: len(self._rows.ids(expr, recheck)))
        return self._cached_count(where or "", lambda: self._count_expr(expr))

    def _count_expr(self, expr: str | None) -> int:
        res = self._rows.query("count", filter=expr, output_fields=["count(*)"])
        return int(res[0]["count(*)"]) if res else 0

    def _cached_count(self, key: str, fetch: Callable[[], int]) -> int:
        """``fetch()``, kept ``COUNT_TTL_S`` under ``key`` (or until this store writes)."""
        cached = self._counts.get(key)
        if cached is not None and time.monotonic() - cached[0] < COUNT_TTL_S:
            return cached[1]
        n = fetch()
        self._counts[key] = (time.monotonic(), n)
        return n

    def source_hash(self, source: str) -> str | None:
        """The source's hash; ``None`` if absent or if its rows disagree (an interrupted replace)."""
        hashes = {
            e["source_hash"] for e in self._rows.iter(to_milvus(Cmp("source", "=", source)), ["source_hash"])
        }
        return hashes.pop() if len(hashes) == 1 else None

    def row_hashes(self, source: str) -> dict[str, str]:
        expr = to_milvus(Cmp("source", "=", source))
        return {e["id"]: e["source_hash"] for e in self._rows.iter(expr, ["id", "source_hash"])}

    def sources(self) -> list[SourceInfo]:
        fields = ["id", "segment_id", "source", "source_hash", "modality", "channel", "added_at"]
        return summarize_sources(SourceView(e) for e in self._rows.iter("", fields))

    def thumbnail(self, segment_id: str) -> bytes | None:
        expr = f'{to_milvus(Cmp("segment_id", "=", str(segment_id)))} and thumbnail != ""'
        res = self._rows.query(filter=expr, output_fields=["thumbnail"], limit=1)
        return base64.b64decode(res[0]["thumbnail"]) if res else None

    def sample_vectors(self, channel: str, n: int, seed: int = 0) -> np.ndarray:
        """Up to ``n`` vectors of ``channel``.

        A channel of at most ``CONTENT_SAMPLE_ROWS`` rows is read whole (one query) and its sample
        chosen by what the vectors hold (``sampling``), as the LanceDB store chooses it: the same
        files give the same background wherever they lie. A larger channel gives one page at a
        seeded offset in primary-key order: row ids are hashes, so the page is a random sample,
        read in one query instead of listing every id (seconds at 20k rows); it depends on the
        rows' ids, so on where the files lie.
        """
        empty = np.zeros((0, self.dim), dtype=np.float32)
        expr = to_milvus(Cmp("channel", "=", str(channel)))
        total = self.count(f"channel = {quote(str(channel))}") if n > 0 else 0
        if not total:
            return empty
        if total <= CONTENT_SAMPLE_ROWS:
            got = self._rows.query(filter=expr, output_fields=["vector"], limit=total)
            whole = np.asarray([g["vector"] for g in got], dtype=np.float32).reshape(-1, self.dim)
            return smallest(whole, min(int(n), len(whole)), seed)
        n = min(int(n), total, ID_PAGE)
        room = min(total, ID_PAGE) - n
        offset = int(np.random.default_rng(seed).integers(0, room + 1)) if room > 0 else 0
        got = self._rows.query(filter=expr, output_fields=["vector"], limit=n, offset=offset)
        return np.asarray([g["vector"] for g in got], dtype=np.float32).reshape(-1, self.dim)

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these row ids (``segment_id:channel``); unknown ids are left out."""
        wanted = [str(i) for i in ids]
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(wanted), BATCH):
            # a query with the filter dialect's quoting: the client's get() does not escape ids ("it's.png:image")
            expr = to_milvus(In("id", tuple(wanted[i : i + BATCH])))
            got = self._rows.query(filter=expr, output_fields=["id", "vector"], limit=min(BATCH, len(wanted) - i))
            out.update({str(g["id"]): np.asarray(g["vector"], dtype=np.float32) for g in got})
        return out

    def similarity_vectors(self, ids: Sequence[str], channel: str) -> dict[str, np.ndarray]:
        """``vectors`` of the ids of ``channel`` (row ids are ``segment_id:channel``): one query."""
        suffix = f":{channel}"
        return self.vectors([i for i in map(str, ids) if i.endswith(suffix)])

    def close(self) -> None:
        try:
            if self._client is not None:
                if self._written:
                    self.flush()
                self._client.close()
                self._client = None
        except Exception as exc:  # noqa: BLE001 - closing twice or a dead server: nothing left to release
            log.debug("closing Milvus client for %s: %s", self.uri, exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MilvusStore", "milvus_address", "server_before"]
