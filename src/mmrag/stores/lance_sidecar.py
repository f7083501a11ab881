"""The ``ann/`` sidecar beside a LanceDB index: vector indexes, row metadata, journal.

Layout (format 4)::

    state.json                 {"format": 4, "folder": "v12-ab..", "journal": "journal-v12-ab...jsonl", ...}
    v12-ab../rows.arrow        row metadata snapshot by key (``lance_meta``), opened memory-mapped
    v12-ab../ch-*.faiss|npy    one saved VectorIndex per channel (``ann``) + its .json
    journal-v12-ab...jsonl     ids written or removed since that save, one line per commit

A save writes a new folder, then replaces ``state.json`` atomically, so a
kill at any moment leaves a complete sidecar. Every commit appends its ids
to the journal first; opening loads the saved indexes and re-reads the
journaled ids from the table (added, changed or gone), so a killed writer
costs a replay of what it wrote since its last save, not a rebuild.

Older sidecars (format 2: hnswlib graphs and id lists; format 3: usearch
graphs) are not read: the store rebuilds from the table (in memory for a
reader; a writer saves the new format), see ``LanceStore``, with a warning
that says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmrag.errors import StoreError
from mmrag.stores.ann import AnnParams, VectorIndex, keys_of, write_json_atomic
from mmrag.stores.filters import In, to_lance
from mmrag.stores.lance_meta import RowMeta, conform
from mmrag.stores.lance_table import meta_select

log = logging.getLogger(__name__)

STATE = "state.json"
SIDECAR_FORMAT = 4
KEEP_OLD_S = 120.0  # superseded sidecar folders younger than this are left for readers still loading them
READ_BATCH = 50_000


def with_keys(table: pa.Table) -> pa.Table:
    """``table`` (LanceDB metadata columns, ``has_thumb``) with its ``key`` column."""
    keys = keys_of(table.column("id").to_pylist())
    return conform(table.append_column("key", pa.array(keys, pa.uint64())))


def vectors_of(batch: Any, dim: int) -> np.ndarray:
    flat = pc.list_flatten(batch.column("vector")).to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(-1, dim)


def build(
    table: Any, dim: int, params: AnnParams, progress: Callable[[int], None] | None = None
) -> tuple[dict[str, VectorIndex], RowMeta]:
    """Vector indexes and row metadata from every row of the table (vectors added in large batches)."""
    indexes: dict[str, VectorIndex] = {}
    metas: list[pa.Table] = []
    done = 0
    cols = {**meta_select(), "vector": "vector"}
    reader = table.search().select(cols).limit(None).to_batches(READ_BATCH)
    for batch in reader:
        part = pa.Table.from_batches([batch])
        meta = with_keys(part.drop_columns(["vector"]))
        keys = meta.column("key").to_numpy()
        vecs = vectors_of(part, dim)
        channels = np.asarray(part.column("channel").to_pylist(), dtype=object)
        for channel in set(channels.tolist()):
            pick = np.flatnonzero(channels == channel)
            indexes.setdefault(channel, VectorIndex(dim, params)).add(keys[pick], vecs[pick])
        metas.append(meta)
        done += part.num_rows
        if progress is not None:
            progress(done)
    if not metas:
        return indexes, RowMeta()
    every = pa.concat_tables(metas)
    return indexes, RowMeta(every.take(pc.sort_indices(every, [("key", "ascending")])))


def read_full(table: Any, ids: Sequence[str], dim: int) -> pa.Table | None:
    """Metadata (with ``key``) and vectors of the ids present in the table."""
    parts = []
    ids = list(ids)
    cols = {**meta_select(), "vector": "vector"}
    for lo in range(0, len(ids), 1000):
        sql = to_lance(In("id", tuple(ids[lo : lo + 1000])))
        parts.append(table.search().where(sql).select(cols).limit(None).to_arrow())
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return None
    return pa.concat_tables(parts)


def load_sidecar(root: Path, dim: int, params: AnnParams) -> tuple[dict[str, VectorIndex], RowMeta, dict[str, Any]] | None:
    """The saved indexes, row metadata and state, or ``None`` if there is no usable sidecar."""
    try:
        state = json.loads((root / STATE).read_text(encoding="utf-8"))
        if state.get("format") != SIDECAR_FORMAT or state.get("dim") != dim:
            if state.get("format") != SIDECAR_FORMAT:
                log.warning(
                    "the vector index in %s was written by another mmrag version (format %s, this one reads %s): "
                    "rebuilding it from the table (a one-off for a writer such as `mmrag add`, which saves it; "
                    "a read-only command rebuilds it in memory until then)", root, state.get("format"), SIDECAR_FORMAT)
            return None
        folder = root / state["folder"]
        indexes = {ch: VectorIndex.load(folder, stem, dim, params) for ch, stem in state["channels"].items()}
        meta = RowMeta.load(folder)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StoreError, pa.ArrowException) as exc:
        log.debug("no usable sidecar in %s: %s", root, exc)
        return None
    if len(meta) != sum(len(i) for i in indexes.values()):
        return None
    return indexes, meta, state


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
    root: Path, indexes: Mapping[str, VectorIndex], meta: RowMeta, version: int, dim: int
) -> dict[str, Any]:
    """Write indexes + metadata into a new folder, then point ``state.json`` at it (atomic), new empty journal.

    A kill at any moment leaves either the old complete sidecar or the new one.
    """
    root.mkdir(parents=True, exist_ok=True)
    tag = f"v{version}-{uuid.uuid4().hex[:10]}"
    folder = root / tag
    folder.mkdir()
    stems = {}
    for channel, index in indexes.items():
        stems[channel] = "ch-" + hashlib.blake2b(channel.encode("utf-8"), digest_size=8).hexdigest()
        index.save(folder, stems[channel])
    meta.save(folder)
    journal = f"journal-{tag}.jsonl"
    (root / journal).touch()
    state = {
        "format": SIDECAR_FORMAT, "dim": dim, "table_version": version, "channels": stems,
        "rows": len(meta), "folder": tag, "journal": journal,
    }
    write_json_atomic(root / STATE, state)
    _remove_superseded(root, {tag, journal, STATE})
    return state


def _remove_superseded(root: Path, keep: set[str]) -> None:
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


__all__ = [
    "STATE",
    "append_journal",
    "build",
    "journal_ids",
    "load_sidecar",
    "read_full",
    "save_sidecar",
    "vectors_of",
    "with_keys",
]
