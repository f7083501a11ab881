"""LanceDB pieces behind ``LanceStore``: the table schema, rows <-> Arrow, and the ``ann/`` sidecar.

``ann/`` layout::

    state.json                 {"folder": "v12-ab..", "journal": "journal-v12-ab...jsonl", ...}
    v12-ab../ch-*.hnsw|npy     one saved VectorIndex per channel (+ its ids.json)
    journal-v12-ab...jsonl     ids written or removed since that save, one line per commit

A save writes a new folder, then replaces ``state.json`` atomically, so a
kill at any moment leaves a complete sidecar. Every commit appends its ids
to the journal first; opening loads the saved indexes and re-reads the
journaled ids from the table (added, changed or gone), so a killed writer
costs a replay of what it wrote since its last save, not a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from baseline_lance.hnsw import HnswParams, VectorIndex, write_json_atomic
from mmrag.errors import IndexError_, SpaceMismatch, StoreError
from mmrag.stores.base import ROW_SCALARS, Row
from mmrag.stores.common import check_meta
from mmrag.stores.filters import Cmp, to_lance

log = logging.getLogger(__name__)

TABLE = "rows"
META_FILE = "mmrag.json"
ANN_DIR = "ann"
EMPTY = np.zeros(0, dtype=np.float32)
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
        ]
    )


def rows_to_arrow(rows: Sequence[Row], dim: int) -> pa.Table:
    vecs = np.stack([np.asarray(r.vector, dtype=np.float32) for r in rows]).reshape(-1)
    cols: dict[str, Any] = {name: [getattr(r, name) for r in rows] for name in META_COLUMNS}
    cols["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vecs, pa.float32()), dim)
    cols["thumbnail"] = [bytes(r.thumbnail) for r in rows]
    cols["fields"] = [r.fields or "{}" for r in rows]
    return pa.Table.from_pydict(cols, schema=row_schema(dim))


def cached_row(row: Row) -> Row:
    """The in-memory copy of a row: no vector, no thumbnail bytes."""
    return Row(
        row.id,
        row.segment_id,
        row.source,
        row.source_hash,
        row.modality,
        row.channel,
        EMPTY,
        row.text,
        int(row.page),
        float(row.t0),
        float(row.t1),
        int(row.start),
        int(row.end),
        row.meta,
        b"",
        float(row.added_at),
        bool(row.thumbnail),
        row.fields or "{}",
    )


def store_error(what: str, path: Path, exc: Exception) -> StoreError:
    return StoreError(
        f"LanceDB {what} failed for index {path}: {exc}. Check the folder is writable and not "
        "damaged; a damaged index can be rebuilt by adding the sources to a new folder."
    )


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


def open_table(path: Path, dim: int) -> Any:
    """Open the ``rows`` table in the folder at ``path`` (creating both if needed); check its dim."""
    try:
        import lancedb

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
        try:
            table.add_columns(pa.field("fields", pa.json_()))
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexError_(f"cannot add the 'fields' column to the index at {path}: {exc}.") from None
    found = table.schema.field("vector").type
    if getattr(found, "list_size", dim) != dim:
        raise SpaceMismatch(
            f"index {path} stores {found.list_size}-d vectors, not {dim}-d. Open it with "
            "the space it was built with, or use a new index folder."
        )
    return table


def read_rows(table: Any) -> dict[str, Row]:
    """All rows' metadata (no vectors, no thumbnail bytes; ``has_thumbnail`` set)."""
    cols: dict[str, Any] = {c: f"`{c}`" for c in META_COLUMNS}
    cols["has_thumb"] = "thumbnail != X''"
    data = table.search().select(cols).limit(None).to_arrow()
    pyc = {name: data.column(name).to_pylist() for name in data.column_names}
    rows: dict[str, Row] = {}
    names = [c for c in META_COLUMNS if c != "fields"]
    for fields_json, v in zip(pyc["fields"], zip(*(pyc[c] for c in (*names, "has_thumb")))):
        rows[v[0]] = Row(
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            v[5],
            EMPTY,
            v[6],
            v[7],
            v[8],
            v[9],
            v[10],
            v[11],
            v[12],
            b"",
            v[13],
            bool(v[14]),
            fields_json or "{}",
        )
    return rows


def build_indexes(table: Any, dim: int, params: HnswParams) -> dict[str, VectorIndex]:
    """Per-channel indexes from every vector in the table."""
    indexes: dict[str, VectorIndex] = {}
    for batch in table.search().select(["id", "channel", "vector"]).limit(None).to_batches():
        ids = batch.column("id").to_pylist()
        channels = batch.column("channel").to_pylist()
        flat = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
        vecs = np.asarray(flat, dtype=np.float32).reshape(-1, dim)
        for channel in set(channels):
            pick = [i for i, c in enumerate(channels) if c == channel]
            indexes.setdefault(channel, VectorIndex(dim, params)).add([ids[i] for i in pick], vecs[pick])
    return indexes


STATE = "state.json"
SIDECAR_FORMAT = 2
KEEP_OLD_S = 120.0  # superseded sidecar folders younger than this are left for readers still loading them


def load_sidecar(root: Path, dim: int, params: HnswParams) -> tuple[dict[str, VectorIndex], dict[str, Any]] | None:
    """The saved indexes and their state, or ``None`` if there is no usable sidecar."""
    try:
        state = json.loads((root / STATE).read_text(encoding="utf-8"))
        if state.get("format") != SIDECAR_FORMAT or state.get("dim") != dim:
            return None
        folder = root / state["folder"]
        indexes = {ch: VectorIndex.load(folder, stem, dim, params) for ch, stem in state["channels"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StoreError):
        return None
    return indexes, state


def journal_ids(root: Path, state: Mapping[str, Any]) -> set[str]:
    """Ids written or removed since the sidecar was saved (a torn last line is a commit that never ran)."""
    touched: set[str] = set()
    try:
        text = (root / state["journal"]).read_text(encoding="utf-8")
    except (OSError, KeyError, TypeError):
        return touched
    for line in text.splitlines():
        try:
            touched.update(json.loads(line)["ids"])
        except (ValueError, KeyError, TypeError):
            continue
    return touched


def append_journal(root: Path, state: Mapping[str, Any], ids: Sequence[str]) -> None:
    """Record ``ids`` BEFORE their commit: on open they are re-read from the table, whatever happened."""
    with open(root / state["journal"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"ids": list(ids)}) + "\n")
        fh.flush()


def save_sidecar(
    root: Path, indexes: Mapping[str, VectorIndex], version: int, dim: int, n_rows: int
) -> dict[str, Any]:
    """Write the indexes into a new folder, then point ``state.json`` at it (atomic), with a new empty journal.

    A kill at any moment leaves either the old complete sidecar or the new one.
    """
    import uuid

    root.mkdir(parents=True, exist_ok=True)
    tag = f"v{version}-{uuid.uuid4().hex[:10]}"
    folder = root / tag
    folder.mkdir()
    stems = {}
    for channel, index in indexes.items():
        stems[channel] = "ch-" + hashlib.blake2b(channel.encode("utf-8"), digest_size=8).hexdigest()
        index.save(folder, stems[channel])
    journal = f"journal-{tag}.jsonl"
    (root / journal).touch()
    state = {
        "format": SIDECAR_FORMAT, "dim": dim, "table_version": version, "channels": stems,
        "rows": n_rows, "folder": tag, "journal": journal,
    }
    write_json_atomic(root / STATE, state)
    _remove_superseded(root, {tag, journal, STATE})
    return state


def _remove_superseded(root: Path, keep: set[str]) -> None:
    import shutil
    import time

    now = time.time()
    for entry in root.iterdir():
        if entry.name in keep or entry.name.endswith(".tmp"):
            continue
        try:
            legacy = entry.is_file() and not entry.name.startswith("journal-")  # format-1 flat files
            if legacy or now - entry.stat().st_mtime > KEEP_OLD_S:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except OSError as exc:  # another process removed it first, or it is busy: next save retries
            log.debug("could not remove old sidecar entry %s: %s", entry, exc)


def read_vectors(table: Any, ids: Sequence[str], dim: int) -> dict[str, tuple[str, np.ndarray]]:
    """``id -> (channel, vector)`` for the ids present in the table."""
    from mmrag.stores.filters import In

    out: dict[str, tuple[str, np.ndarray]] = {}
    ids = list(ids)
    for lo in range(0, len(ids), 1000):
        sql = to_lance(In("id", tuple(ids[lo : lo + 1000])))
        for batch in table.search().where(sql).select(["id", "channel", "vector"]).limit(None).to_batches():
            flat = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
            vecs = np.asarray(flat, dtype=np.float32).reshape(-1, dim)
            for i, (row_id, ch) in enumerate(zip(batch.column("id").to_pylist(), batch.column("channel").to_pylist())):
                out[row_id] = (ch, vecs[i])
    return out


def matches(indexes: Mapping[str, VectorIndex], rows: Iterable[Row]) -> bool:
    """The indexes hold exactly the rows' ids, per channel."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        wanted.setdefault(row.channel, set()).add(row.id)
    live = {c for c, index in indexes.items() if len(index)}
    return live == set(wanted) and all(set(indexes[c].ids()) == ids for c, ids in wanted.items())


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


def has_fts(table: Any) -> bool:
    try:
        return any(i.index_type == "FTS" and i.columns == ["text"] for i in table.list_indices())
    except (OSError, ValueError, RuntimeError):
        return False


def ensure_fts(table: Any, path: Path) -> None:
    """Create the full-text index on ``text`` (write path only). Rows added later are searched
    unindexed (LanceDB scans them) until ``fold_fts`` folds them in."""
    from lancedb.index import FTS

    try:
        table.create_index("text", config=FTS(), replace=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("full-text index creation", path, exc) from None


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


__all__ = [
    "ANN_DIR",
    "EMPTY",
    "META_COLUMNS",
    "META_FILE",
    "SCALAR_INDEXED",
    "TABLE",
    "append_journal",
    "build_indexes",
    "cached_row",
    "ensure_fts",
    "ensure_scalar_indexes",
    "exact_search",
    "fold_fts",
    "has_fts",
    "journal_ids",
    "lance_path",
    "load_sidecar",
    "matches",
    "open_table",
    "read_meta_file",
    "read_rows",
    "read_thumbnail",
    "read_vectors",
    "row_schema",
    "rows_to_arrow",
    "save_sidecar",
    "store_error",
    "stored_dim",
    "text_scan",
    "write_meta_file",
]
