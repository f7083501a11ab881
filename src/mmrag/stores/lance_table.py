"""LanceDB pieces behind ``LanceStore``: the table schema, rows <-> Arrow, the LanceDB calls.

The ``ann/`` sidecar (vector indexes, row metadata snapshot, journal) is in ``lance_sidecar``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmrag.errors import IndexError_, SpaceMismatch, StoreError
from mmrag.index_paths import parse_location
from mmrag.stores.ann import write_json_atomic
from mmrag.stores.base import ROW_SCALARS, Row, SourceInfo
from mmrag.stores.common import check_meta
from mmrag.stores.filters import Cmp, In, to_lance
from mmrag.stores.lance_import import import_lancedb

log = logging.getLogger(__name__)

TABLE = "rows"
META_FILE = "mmrag.json"
ANN_DIR = "ann"
SCALAR_INDEXED = ("id", "source", "segment_id")
META_COLUMNS = ROW_SCALARS


def row_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("segment_id", pa.string()),
            ("source", pa.string()),
            ("source_hash", pa.string()),
            ("modality", pa.string()),
            ("channel", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
            ("text", pa.string()),
            ("page", pa.int64()),
            ("t0", pa.float64()),
            ("t1", pa.float64()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("meta", pa.string()),
            ("thumbnail", pa.binary()),
            ("added_at", pa.float64()),
            ("fields", pa.json_()),  # a record's typed fields; LanceDB filters them with json_get_*
            ("heard", pa.string()),  # words a recogniser may also have heard: a second full-text index
        ]
    )


def rows_to_arrow(rows: Sequence[Row], dim: int) -> pa.Table:
    vecs = np.stack([np.asarray(r.vector, dtype=np.float32) for r in rows]).reshape(-1)
    cols: dict[str, Any] = {name: [getattr(r, name) for r in rows] for name in META_COLUMNS}
    cols["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vecs, pa.float32()), dim)
    cols["thumbnail"] = [bytes(r.thumbnail) for r in rows]
    cols["fields"] = [r.fields or "{}" for r in rows]
    cols["heard"] = [r.heard for r in rows]
    return pa.Table.from_pydict(cols, schema=row_schema(dim))


def store_error(what: str, path: Path, exc: Exception) -> StoreError:
    return StoreError(
        f"LanceDB {what} failed for index {path}: {exc}. Check the folder is writable and not "
        "damaged; a damaged index can be rebuilt by adding the sources to a new folder."
    )


def lance_path(location: str) -> Path:
    """The folder of a LanceDB location (``index_paths.parse_location``)."""
    where = parse_location(location)
    if where.kind != "lance":
        raise StoreError(
            f"{location!r} is a Milvus location, not a LanceDB folder. Open it with mmrag.stores.open_store."
        )
    return Path(where.target)


def stored_dim(path: Path) -> int | None:
    """The vector dim of the index folder at ``path``, or ``None`` if there is none."""
    if not (path / f"{TABLE}.lance").is_dir():
        return None
    try:
        lancedb = import_lancedb()

        table = lancedb.connect(str(path)).open_table(TABLE)
        return int(table.schema.field("vector").type.list_size)
    except (OSError, ValueError, RuntimeError, KeyError, AttributeError) as exc:
        raise IndexError_(f"the index at {path} is unreadable ({exc}). Restore it or rebuild it.") from None


def open_table(path: Path, dim: int) -> Any:
    """Open the ``rows`` table in the folder at ``path`` (creating both if needed); check its dim."""
    try:
        lancedb = import_lancedb()

        if path.exists() and not path.is_dir():
            raise IndexError_(f"{path} is a file, not an index folder. Choose a folder path.")
        path.mkdir(parents=True, exist_ok=True)
        db = lancedb.connect(str(path))
        if TABLE in db.list_tables().tables:
            table = db.open_table(TABLE)
        else:
            table = db.create_table(TABLE, schema=row_schema(dim))
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexError_(
            f"cannot open LanceDB index at {path}: {exc}. Check the path and permissions."
        ) from None
    if "fields" not in table.schema.names:  # an index from before record fields: add the column (nulls)
        add_column(table, path, "fields", pa.json_())
    found = table.schema.field("vector").type
    if getattr(found, "list_size", dim) != dim:
        raise SpaceMismatch(
            f"index {path} stores {found.list_size}-d vectors, not {dim}-d. Open it with "
            "the space it was built with, or use a new index folder."
        )
    return table


def add_column(table: Any, path: Path, name: str, kind: pa.DataType) -> None:
    """Add a nullable column to a table written before it existed."""
    try:
        table.add_columns(pa.field(name, kind))
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexError_(f"cannot add the {name!r} column to the index at {path}: {exc}.") from None


def ensure_heard_column(table: Any, path: Path) -> None:
    """Write path: an index from before ``Row.heard`` gets the column (nulls) before its next write."""
    if "heard" not in table.schema.names:
        add_column(table, path, "heard", pa.string())


# -- LanceDB calls used by LanceStore -------------------------------------------------
def read_meta_file(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"{path} is unreadable ({exc}). Restore it or rebuild the index.") from None
    if not isinstance(value, dict):
        raise IndexError_(f"{path} does not hold a JSON object. Restore it or rebuild the index.")
    return value


def write_meta_file(path: Path, meta: Mapping[str, Any]) -> None:
    text = check_meta(meta)
    try:
        write_json_atomic(path, json.loads(text))
    except OSError as exc:
        raise store_error("metadata write", path.parent, exc) from None


def ensure_scalar_indexes(table: Any, path: Path) -> None:
    """BTREE indexes on id/source/segment_id (fast merges and lookups on large tables)."""
    from lancedb.index import BTree

    try:
        have = {tuple(i.columns) for i in table.list_indices()}
        for column in SCALAR_INDEXED:
            if (column,) not in have:
                table.create_index(column, config=BTree())
    except (OSError, ValueError, RuntimeError) as exc:  # an optimisation: searches stay correct without
        log.warning("could not create scalar indexes in %s: %s", path, exc)


def fts_columns(table: Any) -> set[str]:
    """The columns that have a full-text index (``text``; ``heard`` once a row held heard words): one
    ``list_indices`` call, on every open and every reader's refresh."""
    try:
        return {i.columns[0] for i in table.list_indices() if i.index_type == "FTS" and len(i.columns) == 1}
    except (OSError, ValueError, RuntimeError):
        return set()


def ensure_fts(table: Any, path: Path, column: str = "text") -> None:
    """Create the full-text index on ``column`` (write path only): ``text``, or ``heard`` once a row
    holds words a recogniser may also have heard. Rows added later are searched unindexed (LanceDB scans them)
    until ``fold_fts`` folds them in."""
    from lancedb.index import FTS

    try:
        table.create_index(column, config=FTS(), replace=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("full-text index creation", path, exc) from None


FOLD_MIN_ROWS = 256


def fold_threshold(rows: int) -> int:
    """Unindexed rows at which a writer folds new rows into the full-text index: 256, or 1 % of the table.

    LanceDB scans rows the index does not hold on every text query (~10 µs a row: 8,000 of 10,000 rows
    unindexed made a query 74 ms instead of 5.5), while a fold rewrites the index (0.19 s at 10k rows,
    5.3 s at 200k). At 1 % a query pays at most ~1 % of the table's rows (~13 ms at 100k rows) and a
    fold's cost is spread over that many new rows. (Before: 10,000 rows or 10 %, which left whole small
    indexes unfolded: bench/README.md, "Full-text folding".)"""
    return max(FOLD_MIN_ROWS, int(rows) // 100)


def fold_fts(table: Any, path: Path, min_rows: int) -> None:
    """Fold at least ``min_rows`` unindexed rows into the full-text index (and compact); write path only."""
    try:
        fts = [i for i in table.list_indices() if i.index_type == "FTS" and i.columns == ["text"]]
        if fts and (getattr(table.index_stats(fts[0].name), "num_unindexed_rows", 0) or 0) >= min_rows:
            table.optimize()
    except (OSError, ValueError, RuntimeError) as exc:  # an optimisation: searches stay correct without
        log.warning("could not fold new rows into the full-text index of %s: %s", path, exc)


def text_scan(table: Any, query: str, k: int, where: str | None, path: Path) -> list[tuple[str, float]]:
    """BM25 over rows whose text holds a query word: an index without a full-text index (read-only)."""
    from mmrag.stores.common import bm25_scores, tokenize

    words = list(dict.fromkeys(tokenize(query)))[:16]
    if not words:
        return []
    likes = " OR ".join("lower(text) LIKE '%" + w.replace("'", "''").replace("%", "").replace("_", "") + "%'" for w in words)
    sql = f"({likes})" + (f" AND ({where})" if where else "")
    try:
        res = table.search().where(sql).select(["id", "text"]).limit(5000).to_arrow()
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("full-text scan", path, exc) from None
    ids, texts = res.column("id").to_pylist(), res.column("text").to_pylist()
    scores = bm25_scores(query, texts)
    order = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
    return [(ids[i], float(scores[i])) for i in order]


def exact_search(table: Any, q: np.ndarray, k: int, sql: str, path: Path) -> tuple[list[str], np.ndarray]:
    """Exact prefiltered search in LanceDB (the fallback for very selective filters)."""
    try:
        res = (
            table.search(q)
            .distance_type("dot")
            .where(sql, prefilter=True)
            .bypass_vector_index()
            .limit(k)
            .select(["id", "_distance"])
            .to_arrow()
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("filtered search", path, exc) from None
    return res.column("id").to_pylist(), 1.0 - res.column("_distance").to_numpy().astype(np.float32)


def read_thumbnail(table: Any, segment_id: str, path: Path) -> bytes | None:
    where = f"{to_lance(Cmp('segment_id', '=', str(segment_id)))} AND thumbnail != X''"
    try:
        res = table.search().where(where).select(["thumbnail"]).limit(1).to_arrow()
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("thumbnail read", path, exc) from None
    return bytes(res.column("thumbnail")[0].as_py()) if res.num_rows else None


def meta_select() -> dict[str, str]:
    """LanceDB select of every metadata column plus ``has_thumb`` (no vector, no thumbnail bytes)."""
    cols: dict[str, str] = {c: f"`{c}`" for c in META_COLUMNS}
    cols["has_thumb"] = "thumbnail != X''"
    return cols


def ids_of_sources(table: Any, sources: Sequence[str], path: Path) -> list[tuple[str, str]]:
    """``(id, source)`` of every row of these sources."""
    out: list[tuple[str, str]] = []
    for lo in range(0, len(sources), 500):
        sql = to_lance(In("source", tuple(sources[lo : lo + 500])))
        try:
            res = table.search().where(sql).select(["id", "source"]).limit(None).to_arrow()
        except (OSError, ValueError, RuntimeError) as exc:
            raise store_error("reading the rows of sources", path, exc) from None
        out.extend(zip(res.column("id").to_pylist(), res.column("source").to_pylist()))
    return out


def source_hashes(table: Any, path: Path, where: str | None = None) -> dict[str, str | None]:
    """``source -> hash`` (``None`` where a source's rows disagree: an interrupted replace)."""
    try:
        q = table.search()
        if where is not None:
            q = q.where(where)
        res = q.select(["source", "source_hash"]).limit(None).to_arrow()
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("reading source hashes", path, exc) from None
    if not res.num_rows:
        return {}
    agg = res.group_by("source").aggregate([("source_hash", "min"), ("source_hash", "max")])
    lo, hi = agg.column("source_hash_min").to_pylist(), agg.column("source_hash_max").to_pylist()
    return {s: (a if a == b else None) for s, a, b in zip(agg.column("source").to_pylist(), lo, hi)}


def source_summary(table: Any, path: Path) -> pa.Table:
    """The columns ``summarize_sources`` needs, for every row."""
    try:
        return table.search().select(["source", "source_hash", "segment_id", "modality", "added_at"]).limit(None).to_arrow()
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("reading sources", path, exc) from None


def with_has_thumb(data: pa.Table) -> pa.Table:
    """LanceDB columns of a write plus ``has_thumb`` (what ``RowMeta`` keeps instead of the bytes)."""
    import pyarrow.compute as pc

    return data.append_column("has_thumb", pc.greater(pc.binary_length(data.column("thumbnail")), 0))


def summarize(table: pa.Table) -> list[SourceInfo]:
    """``SourceInfo`` per source (vectorised group-by over the table's columns), sorted by source."""
    if not table.num_rows:
        return []
    agg = table.group_by("source").aggregate(
        [("source_hash", "min"), ("segment_id", "count_distinct"), ("segment_id", "count"),
         ("modality", "distinct"), ("added_at", "max")]
    )
    out = [
        SourceInfo(source=src, source_hash=h, segments=int(segs), rows=int(n), modalities=tuple(sorted(mods)), added_at=float(at))
        for src, h, segs, n, mods, at in zip(
            *(agg.column(c).to_pylist() for c in (
                "source", "source_hash_min", "segment_id_count_distinct", "segment_id_count", "modality_distinct", "added_at_max"
            ))
        )
    ]
    return sorted(out, key=lambda s: s.source)


__all__ = [
    "ANN_DIR",
    "META_COLUMNS",
    "META_FILE",
    "SCALAR_INDEXED",
    "TABLE",
    "add_column",
    "ensure_fts",
    "ensure_heard_column",
    "ensure_scalar_indexes",
    "exact_search",
    "fold_fts",
    "fold_threshold",
    "fts_columns",
    "ids_of_sources",
    "lance_path",
    "meta_select",
    "open_table",
    "read_meta_file",
    "read_thumbnail",
    "row_schema",
    "rows_to_arrow",
    "source_hashes",
    "source_summary",
    "store_error",
    "stored_dim",
    "summarize",
    "text_scan",
    "with_has_thumb",
    "write_meta_file",
]
