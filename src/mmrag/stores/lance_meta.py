"""Row metadata for search hits, by key, without holding it in memory.

``RowMeta`` answers "the rows of these keys" for the few hits of a search. It
is a snapshot saved beside the vector indexes (``ann/<save>/rows.arrow``: an
uncompressed Arrow IPC file sorted by key, opened memory-mapped) plus the
rows written since (small Arrow tables and a key -> position map) minus the
keys removed since. A search's few hits are read from ``rows.json`` (each
row's values as one JSON array, in key order, located by ``rows.offsets.npy``)
with one ``pread`` a row: through the mapping, each hit touched ~30 column
buffers and the kernel maps 64 KB around every fault, so 300 searches at 1M
rows made 318 of the 359 MB snapshot resident (bench/README.md, "Scale,
issue 11 again"); a read lands in the page cache, not in the process. Measured on 200k
rows: a LanceDB point lookup of 10 ids takes 5-11 ms (``take_offsets``,
``id IN``), a lookup here tens of microseconds (bench/README.md, "Scale").

The columns are ``key`` (uint64, ``ann.key_of(id)``), every ``Row`` scalar
and ``has_thumb``; no vectors, no thumbnail bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmrag.stores.base import ROW_SCALARS, Row

EMPTY = np.zeros(0, dtype=np.float32)
FILE = "rows.arrow"
BLOB = "rows.json"  # one JSON array a row (the values after ``key``), key order
OFFSETS = "rows.offsets.npy"  # uint64 byte offsets into BLOB, one per row + the end
BATCH_ROWS = 65_536


_TYPES = {"page": pa.int64(), "start": pa.int64(), "end": pa.int64(), "t0": pa.float64(), "t1": pa.float64(), "added_at": pa.float64()}


def meta_schema() -> pa.Schema:
    return pa.schema(
        [pa.field("key", pa.uint64())]
        + [pa.field(name, _TYPES.get(name, pa.string())) for name in ROW_SCALARS]
        + [pa.field("has_thumb", pa.bool_())]
    )


def conform(table: pa.Table) -> pa.Table:
    """``table``'s metadata columns in the snapshot's schema (``fields`` as plain strings)."""
    schema = meta_schema()
    cols = []
    for f in schema:
        col = table.column(f.name)
        if f.name == "fields":
            col = pc.fill_null(col.cast(pa.string()), "{}")
        cols.append(col.cast(f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _row(v: list) -> Row:
    """A ``Row`` from one snapshot row's values in schema order (key first)."""
    return Row(v[1], v[2], v[3], v[4], v[5], v[6], EMPTY, v[7], v[8], v[9], v[10], v[11], v[12], v[13], b"",
               v[14], bool(v[16]), v[15] or "{}")


def _json_rows(table: pa.Table) -> list[bytes]:
    """Each row's values after ``key`` as one JSON array (UTF-8)."""
    cols = [table.column(n).to_pylist() for n in meta_schema().names[1:]]
    return [json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8") for v in zip(*cols)]


def to_rows(table: pa.Table) -> list[Row]:
    cols = [table.column(n).to_pylist() for n in meta_schema().names]
    return [_row(list(v)) for v in zip(*cols)]


class RowMeta:
    """Snapshot (memory-mapped) + rows written since - keys removed since."""

    def __init__(self, base: pa.Table | None = None) -> None:
        self._base = base if base is not None else meta_schema().empty_table()
        keys = self._base.column("key")
        self._base_keys = np.concatenate([c.to_numpy() for c in keys.chunks]) if keys.num_chunks else np.zeros(0, np.uint64)
        self._added: list[pa.Table] = []
        self._at: dict[int, tuple[int, int]] = {}  # key -> (added table, row)
        self._gone: set[int] = set()  # base keys removed (or superseded) since the snapshot
        self._live_base = len(self._base_keys)
        self._cols = [self._base.column(n) for n in meta_schema().names]
        self._file: Path | None = None  # the snapshot file ``_base`` is mapped from, if any
        self._blob: int | None = None  # descriptor of BLOB (hit reads by pread), if the snapshot has one
        self._offsets = np.zeros(0, dtype=np.uint64)

    def __del__(self) -> None:
        if getattr(self, "_blob", None) is not None:
            os.close(self._blob)  # type: ignore[arg-type]
            self._blob = None

    # -- persistence ----------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path) -> RowMeta:
        """Open a snapshot memory-mapped (nothing is read until a lookup)."""
        source = pa.memory_map(str(folder / FILE), "r")
        table = pa.ipc.open_file(source).read_all()
        if table.schema != meta_schema():
            raise ValueError("row metadata snapshot has another schema")
        meta = cls(table)
        meta._file = folder / FILE
        if (folder / BLOB).exists():  # snapshots saved before it have none: hits come from the mapping
            offsets = np.load(folder / OFFSETS)
            if len(offsets) != table.num_rows + 1:
                raise ValueError("row metadata offsets do not match the snapshot")
            meta._offsets, meta._blob = offsets.astype(np.uint64), os.open(folder / BLOB, os.O_RDONLY)
        return meta

    def save(self, folder: Path) -> None:
        """Write the live rows sorted by key, streaming: the snapshot is read and merged with the rows
        written since one batch at a time, so a writer never holds the whole metadata in memory
        (at 1M rows a materialised snapshot was ~0.3 GB, twice over while sorting)."""
        tmp, tmp_blob = folder / (FILE + ".tmp"), folder / (BLOB + ".tmp")
        offsets = [np.zeros(1, dtype=np.uint64)]
        at = 0
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, meta_schema()) as writer, open(tmp_blob, "wb") as blob:
            for batch in self._merged_batches():
                if batch.num_rows:
                    writer.write_table(batch, max_chunksize=BATCH_ROWS)
                    lines = _json_rows(batch)
                    blob.write(b"".join(lines))
                    ends = at + np.cumsum(np.fromiter(map(len, lines), dtype=np.uint64, count=len(lines)))
                    offsets.append(ends)
                    at = int(ends[-1])
        with open(folder / (OFFSETS + ".tmp"), "wb") as fh:
            np.save(fh, np.concatenate(offsets))
        os.replace(tmp_blob, folder / BLOB)
        os.replace(folder / (OFFSETS + ".tmp"), folder / OFFSETS)
        os.replace(tmp, folder / FILE)

    def _added_sorted(self) -> pa.Table:
        """The latest version of every row written since the snapshot, sorted by key."""
        if not self._at:
            return meta_schema().empty_table()
        latest: dict[int, list[int]] = {}
        for t, r in self._at.values():
            latest.setdefault(t, []).append(r)
        table = pa.concat_tables(self._added[t].take(pa.array(sorted(rs), pa.int64())) for t, rs in latest.items())
        return table.take(pc.sort_indices(table, [("key", "ascending")]))

    def _base_batches(self) -> Iterator[pa.RecordBatch]:
        """The snapshot in key order, a batch at a time; read from its file (not the mapping, whose
        touched pages would stay resident) when it has one."""
        if self._file is None:
            yield from self._base.to_batches(max_chunksize=BATCH_ROWS)
            return
        with pa.OSFile(str(self._file), "rb") as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)

    def _merged_batches(self) -> Iterator[pa.Table]:
        """Live snapshot rows merged with the rows written since, in key order, in pieces."""
        added = self._added_sorted()
        added_keys = added.column("key").to_numpy() if added.num_rows else np.zeros(0, np.uint64)
        gone = np.sort(np.fromiter(self._gone, dtype=np.uint64, count=len(self._gone)))
        at = 0  # next row of ``added`` to write
        if self._live_base:
            for batch in self._base_batches():
                keys = batch.column(0).to_numpy()
                if not len(keys):
                    continue
                if len(gone):
                    batch = batch.filter(pa.array(~np.isin(keys, gone, assume_unique=True)))
                upto = int(np.searchsorted(added_keys, keys[-1], side="right"))
                piece = pa.concat_tables([pa.Table.from_batches([batch], meta_schema()), added.slice(at, upto - at)])
                at = upto
                yield piece.take(pc.sort_indices(piece, [("key", "ascending")]))
        yield added.slice(at)

    def snapshot(self) -> pa.Table:
        """Every live row, sorted by key (in memory: for small tables and tests)."""
        return pa.concat_tables(self._merged_batches())

    # -- contents ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self._live_base + len(self._at)

    def _in_base(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.searchsorted(self._base_keys, keys)
        pos = np.minimum(pos, max(len(self._base_keys) - 1, 0))
        hit = (self._base_keys[pos] == keys) if len(self._base_keys) else np.zeros(len(keys), dtype=bool)
        return pos, hit

    def put(self, table: pa.Table) -> None:
        """Rows (in the snapshot schema) written since the snapshot; a key already present is replaced."""
        if not table.num_rows:
            return
        keys = np.asarray(table.column("key").to_numpy(), dtype=np.uint64)
        self._drop_base(keys)
        t = len(self._added)
        self._added.append(table)
        for r, key in enumerate(keys.tolist()):
            self._at[key] = (t, r)

    def drop(self, keys: Iterable[int]) -> None:
        keys = np.asarray(list(keys), dtype=np.uint64)
        self._drop_base(keys)
        for key in keys.tolist():
            self._at.pop(key, None)

    def _drop_base(self, keys: np.ndarray) -> None:
        if not len(keys) or not self._live_base:
            return
        _, hit = self._in_base(keys)
        for key in keys[hit].tolist():
            if key not in self._gone:
                self._gone.add(key)
                self._live_base -= 1

    def rows(self, keys: np.ndarray) -> list[Row | None]:
        """The rows of ``keys`` (``None`` where a key is unknown), in order."""
        keys = np.asarray(keys, dtype=np.uint64).reshape(-1)
        out: list[Row | None] = [None] * len(keys)
        pos, hit = self._in_base(keys)
        base_at = [i for i in range(len(keys)) if hit[i] and int(keys[i]) not in self._gone]
        if len(base_at) > 32:  # many rows (a filter's candidates): one vectorised take
            for i, row in zip(base_at, to_rows(self._base.take(pa.array(pos[base_at], pa.int64())))):
                out[i] = row
        elif self._blob is not None:  # a search's hits: one pread a row (page cache, not this process)
            for i in base_at:
                p = int(pos[i])
                lo, hi = int(self._offsets[p]), int(self._offsets[p + 1])
                out[i] = _row([None, *json.loads(os.pread(self._blob, hi - lo, lo))])
        else:  # scalar reads from the mapping (~20 us a row; a take costs ~150 us + ~30 us a row)
            for i in base_at:
                p = int(pos[i])
                out[i] = _row([c[p].as_py() for c in self._cols])
        for i, key in enumerate(keys.tolist()):
            where = self._at.get(key)
            if where is not None:
                out[i] = to_rows(self._added[where[0]].slice(where[1], 1))[0]
        return out


__all__ = ["RowMeta", "conform", "meta_schema", "to_rows"]
