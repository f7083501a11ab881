"""LanceDB pieces behind ``LanceStore``: the table schema, rows <-> Arrow, and the ``ann/`` sidecar.

The sidecar folder holds one saved ``VectorIndex`` per channel and a
``state.json`` naming the table version those indexes reflect. It is written
last (and removed first while files change), so a sidecar is either complete
and current or ignored and rebuilt from the table.
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

from mmrag.errors import IndexError_, SpaceMismatch, StoreError
from mmrag.stores.base import ROW_SCALARS, Row
from mmrag.stores.common import check_meta
from mmrag.stores.filters import Cmp, to_lance
from mmrag.stores.hnsw import HnswParams, VectorIndex, write_json_atomic

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


def load_sidecar(
    folder: Path, version: int, dim: int, params: HnswParams, rows: Iterable[Row]
) -> dict[str, VectorIndex] | None:
    """The saved indexes if they are complete and match table ``version`` and ``rows``; else ``None``."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("table_version") != version or state.get("dim") != dim:
            return None
        indexes = {ch: VectorIndex.load(folder, stem, dim, params) for ch, stem in state["channels"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StoreError):
        return None
    wanted: dict[str, set[str]] = {}
    for row in rows:
        wanted.setdefault(row.channel, set()).add(row.id)
    if set(indexes) != set(wanted) or any(set(indexes[c].ids()) != ids for c, ids in wanted.items()):
        return None
    return indexes


def save_sidecar(
    folder: Path, indexes: Mapping[str, VectorIndex], version: int, dim: int, n_rows: int
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").unlink(missing_ok=True)  # no state while files are in flux: a crash means rebuild
    for old in folder.iterdir():
        old.unlink()
    stems = {}
    for channel, index in indexes.items():
        stems[channel] = "ch-" + hashlib.blake2b(channel.encode("utf-8"), digest_size=8).hexdigest()
        index.save(folder, stems[channel])
    write_state(folder, stems, version, dim, n_rows)


def write_state(folder: Path, stems: Mapping[str, str], version: int, dim: int, n_rows: int) -> None:
    write_json_atomic(
        folder / "state.json",
        {"format": 1, "dim": dim, "table_version": version, "channels": dict(stems), "rows": n_rows},
    )


def restamp_sidecar(folder: Path, version: int, dim: int, n_rows: int) -> bool:
    """Point a saved, still-accurate sidecar at a new table version (after optimize / index builds)."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("table_version") != version:
            write_state(folder, state["channels"], version, dim, n_rows)
        return True
    except (OSError, ValueError, KeyError):
        return False


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


def refresh_fts(table: Any, path: Path) -> None:
    """Create the full-text index on ``text``, or fold new rows into it."""
    from lancedb.index import FTS

    try:
        fts = [i for i in table.list_indices() if i.index_type == "FTS" and i.columns == ["text"]]
        if not fts:
            table.create_index("text", config=FTS(), replace=True)
        elif (getattr(table.index_stats(fts[0].name), "num_unindexed_rows", 0) or 0) > 0:
            table.optimize()  # folds new rows into the FTS index (and compacts)
    except (OSError, ValueError, RuntimeError) as exc:
        raise store_error("full-text index update", path, exc) from None


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
    "build_indexes",
    "cached_row",
    "ensure_scalar_indexes",
    "exact_search",
    "lance_path",
    "load_sidecar",
    "open_table",
    "read_meta_file",
    "read_rows",
    "read_thumbnail",
    "refresh_fts",
    "restamp_sidecar",
    "row_schema",
    "rows_to_arrow",
    "save_sidecar",
    "store_error",
    "stored_dim",
    "write_meta_file",
    "write_state",
]
