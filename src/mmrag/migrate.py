"""``mmrag migrate``: copy an index into another store (LanceDB folder -> Milvus, typically).

Every row moves with its vector, metadata and thumbnail, then the index
metadata (the space spec), so the destination opens with the same space and
the same search results. Rows are read from the source in Arrow batches
(LanceDB) or id pages (Milvus) and written in batches; memory stays at one
batch. The destination must be empty (a new folder, or a new collection
name: ``http://host:19530#name``); the source is only read.

Checked at the end: the destination holds as many rows as the source, per
channel. Re-running after a failure starts over on a fresh destination.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import typer

from mmrag.config import Config
from mmrag.errors import IndexError_, StoreError
from mmrag.stores import open_store
from mmrag.stores.base import ROW_SCALARS, Row, VectorStore, quote

BATCH = 2_000


@dataclass(frozen=True)
class MigrateReport:
    source: str
    destination: str
    rows: int
    by_channel: dict[str, int]
    seconds: float


def _lance_rows(store: Any, batch: int) -> Iterator[list[Row]]:
    heard = "heard" in store._table.schema.names  # a recogniser's alternatives (indexes made since Row.heard)
    cols = [*ROW_SCALARS, "vector", "thumbnail", *(["heard"] if heard else [])]
    reader = store._table.search().select(cols).limit(None).to_batches(batch)
    for rb in reader:
        data = {name: rb.column(name).to_pylist() for name in ROW_SCALARS}
        flat = rb.column("vector").flatten().to_numpy(zero_copy_only=False)
        vecs = np.asarray(flat, dtype=np.float32).reshape(rb.num_rows, store.dim)
        thumbs = rb.column("thumbnail").to_pylist()
        heards = rb.column("heard").to_pylist() if heard else [""] * rb.num_rows
        yield [
            Row(
                **{name: data[name][i] for name in ROW_SCALARS},
                vector=vecs[i],
                thumbnail=thumbs[i] or b"",
                heard=heards[i] or "",
            )
            for i in range(rb.num_rows)
        ]


def _milvus_rows(store: Any, batch: int) -> Iterator[list[Row]]:
    from mmrag.stores.milvus_schema import OUT_FIELDS, to_row

    reader = store._rows  # milvus_rows.RowsReader: paged reads of the rows collection
    ids = [e["id"] for e in reader.iter("", ["id"])]
    for lo in range(0, len(ids), batch):
        got = reader.get(ids[lo : lo + batch], [*OUT_FIELDS, "vector", *(["heard"] if store._heard else [])])
        out = []
        for e in got:
            row = to_row(e)
            vector = np.asarray(e["vector"], dtype=np.float32)
            out.append(Row(**{**row.__dict__, "vector": vector, "heard": e.get("heard") or ""}))
        yield out


def read_all(store: VectorStore, batch: int = BATCH) -> Iterator[list[Row]]:
    """Every row of ``store`` with its vector and thumbnail, ``batch`` rows at a time."""
    from mmrag.stores.lance import LanceStore

    if isinstance(store, LanceStore):
        return _lance_rows(store, batch)
    from mmrag.stores.milvus import MilvusStore

    if isinstance(store, MilvusStore):
        return _milvus_rows(store, batch)
    raise StoreError(f"cannot read every row of a {type(store).__name__}. Migrate from a LanceDB or Milvus index.")


def migrate(
    source: str,
    destination: str,
    config: Config | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = BATCH,
) -> MigrateReport:
    """Copy every row and the metadata of the index at ``source`` into an empty ``destination``."""
    cfg = config or Config()
    started = time.monotonic()
    src = open_store(source, None, cfg)
    try:
        meta = src.read_meta()
        if meta is None or not src.dim:
            raise IndexError_(f"no mmrag index at {source}. Check the location (mmrag info --index {source}).")
        total = src.count()
        dst = open_store(destination, src.dim, cfg)
        try:
            if dst.count() or dst.read_meta() is not None:
                raise IndexError_(
                    f"the destination {destination} already holds an index ({dst.count()} rows). "
                    "Migrate into a new folder or a new collection name (http://host:19530#newname)."
                )
            done, want = 0, Counter[str]()
            for rows in read_all(src, batch):
                dst.upsert(rows)
                want.update(r.channel for r in rows)
                done += len(rows)
                if progress is not None:
                    progress(done, total)
            dst.write_meta(meta)
            got = {c: dst.count(f"channel = {quote(c)}") for c in sorted(want)}
            if got != dict(want) or done != total or dst.count() != total:
                raise StoreError(
                    f"the destination holds {dst.count()} rows {got}, the source {total} {want}. "
                    "Drop the destination and run the migration again."
                )
        finally:
            dst.close()
    finally:
        src.close()
    return MigrateReport(source, destination, total, dict(sorted(want.items())), time.monotonic() - started)


# ------------------------------------------------------------------ CLI
def migrate_command(
    source: Annotated[str, typer.Argument(help="The index to copy (a LanceDB folder, or any index location).")],
    destination: Annotated[
        str,
        typer.Argument(
            help="Where to copy it: http://host:19530#name (Milvus server), milvus:./file.db, or a new folder."
        ),
    ],
) -> None:
    """Copy an index into another store, e.g. a LanceDB folder into a Milvus cluster.

    The destination must be empty; the source is only read. Set the token for a
    secured cluster in MMRAG_STORE_MILVUS_TOKEN.

    Example: [bold]mmrag migrate ./mmrag-index http://10.0.0.5:19530#team[/]
    """
    from mmrag.cli_common import _errors, err, out
    from mmrag.cli_output import progress_printer, safe

    with _errors():
        step = progress_printer(err, "migrating")
        report = migrate(source, destination, progress=step)
    out.print(
        f"migrated {report.rows} row(s) from {safe(report.source)} to {safe(report.destination)} "
        f"in {report.seconds:.1f} s: " + ", ".join(f"{k}: {v}" for k, v in report.by_channel.items()),
        markup=False,
        highlight=False,
    )
    raise typer.Exit(0)


__all__ = ["MigrateReport", "migrate", "migrate_command", "read_all"]
