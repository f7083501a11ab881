"""LanceStore's hot path: in-process faiss IVF above the threshold, kept consistent with LanceDB."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mmrag.config import Config
from mmrag.errors import IndexError_, StoreError
from mmrag.stores import open_store
from mmrag.stores.ann import VectorIndex
from mmrag.stores.base import Row
from mmrag.stores.common import EmptyStore
from mmrag.stores.lance import LanceStore

DIM = 24
CFG = Config().with_overrides(
    {
        "store.ann_threshold": 100,
        "store.ann_nprobe": 8,  # of 10 lists at 400 rows (recall: tests/stores/test_ann.py)
    }
)


def clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, DIM)).astype(np.float32)
    v = centres[rng.integers(0, 20, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def rows_for(
    vecs: np.ndarray, prefix: str = "s", channel: str = "image", source: str | None = None
) -> list[Row]:
    return [
        Row(
            id=f"{prefix}{i}:{channel}",
            segment_id=f"{prefix}{i}",
            source=source or f"file{i % 7}.png",
            source_hash="h",
            modality="image",
            channel=channel,
            vector=v,
            page=i % 5,
        )
        for i, v in enumerate(vecs)
    ]


def top_ids(store: LanceStore, q: np.ndarray, k: int, where: str | None = None) -> list[str]:
    return [s.row.id for s in store.search(q, k, where)]


def exact_ids(rows: list[Row], q: np.ndarray, k: int, keep=lambda r: True) -> list[str]:
    cand = [r for r in rows if keep(r)]
    scores = np.array([float(r.vector @ q) for r in cand])
    return [cand[i].id for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture()
def big(tmp_path: Path) -> tuple[LanceStore, list[Row]]:
    rows = rows_for(clustered(400))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows)
    return store, rows


def test_ivf_results_match_exact_top_k(big: tuple[LanceStore, list[Row]]) -> None:
    store, rows = big
    assert store._indexes["image"].mode == "ivf"
    queries = clustered(30, seed=5)
    recall = np.mean([len(set(top_ids(store, q, 10)) & set(exact_ids(rows, q, 10))) / 10 for q in queries])
    assert recall >= 0.98
    q = queries[0]
    got = store.search(q, 10, "channel = 'image'")
    by_id = {r.id: r for r in rows}
    assert np.allclose([s.score for s in got], [float(by_id[s.row.id].vector @ q) for s in got], atol=2e-3)  # float16 vectors
    assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)


def test_small_channels_use_the_exact_scan(tmp_path: Path) -> None:
    rows = rows_for(clustered(50), channel="text")
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows)
    assert store._indexes["text"].mode == "exact"
    for q in clustered(5, seed=9):
        assert top_ids(store, q, 7) == exact_ids(rows, q, 7)


def test_post_filter_and_selective_fallback_are_exact(big: tuple[LanceStore, list[Row]]) -> None:
    store, rows = big
    q = clustered(1, seed=3)[0]
    assert top_ids(store, q, 5, "page = 2") == exact_ids(rows, q, 5, lambda r: r.page == 2)
    # a filter so selective that HNSW candidates cannot satisfy it: LanceDB's exact scan answers
    rare = {rows[3].id, rows[250].id}
    where = f"id IN ('{rows[3].id}', '{rows[250].id}') AND channel = 'image'"
    assert set(top_ids(store, q, 5, where)) == rare
    assert top_ids(store, q, 5, "channel = 'audio'") == []
    assert top_ids(store, q, 5, "channel = 'image' AND channel = 'text'") == []


def test_consistent_after_delete_and_replace(big: tuple[LanceStore, list[Row]]) -> None:
    store, rows = big
    q = rows[10].vector
    assert store.delete(f"source = '{rows[10].source}'") == sum(r.source == rows[10].source for r in rows)
    left = [r for r in rows if r.source != rows[10].source]
    assert rows[10].id not in top_ids(store, q, 20)
    moved = Row(**{**rows[20].__dict__, "vector": rows[10].vector})  # same id, new vector
    store.replace_source(rows[20].source, [moved])
    left = [r for r in left if r.source != rows[20].source] + [moved]
    assert top_ids(store, q, 1) == [moved.id]
    recall = np.mean(
        [len(set(top_ids(store, v, 10)) & set(exact_ids(left, v, 10))) / 10 for v in clustered(20, seed=11)]
    )
    assert recall >= 0.95  # after removals (IVF removes in place)
    assert len(store._indexes["image"]) == store.count() == len(left)


def test_reopen_loads_the_saved_index_without_rebuilding(
    big: tuple[LanceStore, list[Row]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = big
    q = clustered(1, seed=4)[0]
    before = top_ids(store, q, 10)
    store.close()
    state = json.loads((store.path / "ann" / "state.json").read_text())
    assert state["rows"] == 400 and state["table_version"] >= 1
    monkeypatch.setattr(LanceStore, "_rebuild_indexes", lambda self: pytest.fail("rebuilt a current index"))
    again = LanceStore(str(store.path), DIM, CFG)
    assert again._indexes["image"].mode == "ivf"
    assert top_ids(again, q, 10) == before
    again.close()


def test_missing_or_stale_sidecar_is_rebuilt(big: tuple[LanceStore, list[Row]]) -> None:
    store, rows = big
    q = clustered(1, seed=6)[0]
    store.close()
    shutil.rmtree(store.path / "ann")
    again = LanceStore(str(store.path), DIM, CFG)
    assert top_ids(again, q, 5) == exact_ids(rows, q, 5)
    again.close()
    # a writer that dies before close(): table moved on, sidecar did not
    crashed = LanceStore(str(store.path), DIM, CFG)
    extra = rows_for(clustered(30, seed=8), prefix="new")
    crashed.upsert(extra)
    del crashed  # no close(): ann/ still describes the older table version
    fresh = LanceStore(str(store.path), DIM, CFG)
    assert fresh.count() == 430 and len(fresh._indexes["image"]) == 430
    assert top_ids(fresh, extra[0].vector, 1) == [extra[0].id]
    fresh.close()


def test_corrupt_sidecar_is_rebuilt(big: tuple[LanceStore, list[Row]]) -> None:
    store, rows = big
    store.close()
    for f in (store.path / "ann").rglob("*.faiss"):
        f.write_bytes(b"garbage")
    again = LanceStore(str(store.path), DIM, CFG)
    q = rows[42].vector
    assert top_ids(again, q, 1) == [rows[42].id]
    again.close()


def test_interrupted_index_update_rebuilds_before_next_read(
    big: tuple[LanceStore, list[Row]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = big
    extra = rows_for(clustered(5, seed=12), prefix="late")

    def boom(self, ids, vectors):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(VectorIndex, "add", boom)
        with pytest.raises(KeyboardInterrupt):
            store.upsert(extra)  # LanceDB committed, the in-memory index did not follow
    assert store._dirty
    assert top_ids(store, extra[0].vector, 1) == [extra[0].id]  # rebuilt from LanceDB first
    assert store.count() == 405 and not store._dirty


def test_threshold_crossings_switch_modes(tmp_path: Path) -> None:
    rows = rows_for(clustered(120))
    store = LanceStore(str(tmp_path / "idx"), DIM, CFG)
    store.upsert(rows[:90])
    assert store._indexes["image"].mode == "exact"
    store.upsert(rows[90:])
    assert store._indexes["image"].mode == "ivf"
    store.delete("page >= 1")  # leaves ~1/5 of the rows: below threshold / 2
    assert store._indexes["image"].mode == "exact"
    left = [r for r in rows if r.page < 1]
    q = clustered(1, seed=2)[0]
    assert top_ids(store, q, 5) == exact_ids(left, q, 5)
    store.delete("page = 0")
    assert "image" not in store._indexes and store.search(q, 5) == []


def test_open_without_dim(tmp_path: Path) -> None:
    empty = open_store(str(tmp_path / "nothing"), None, CFG)
    assert isinstance(empty, EmptyStore) and not (tmp_path / "nothing").exists()
    assert empty.read_meta() is None and empty.count() == 0 and empty.sources() == []
    with pytest.raises(StoreError, match="does not exist yet"):
        empty.upsert(rows_for(clustered(1)))
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexError_, match="is a file"):
        LanceStore(str(tmp_path / "file"), DIM, CFG)
    store = open_store(f"lance:{tmp_path / 'idx'}", DIM, CFG)
    store.upsert(rows_for(clustered(3)))
    store.close()
    again = open_store(str(tmp_path / "idx"), None, CFG)
    assert isinstance(again, LanceStore) and again.dim == DIM and again.count() == 3
    again.close()


def test_large_tables_replace_in_two_commits_and_survive_a_crash_between(
    big: tuple[LanceStore, list[Row]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmrag.stores.lance as lance_mod

    monkeypatch.setattr(lance_mod, "SCALAR_INDEX_MIN_ROWS", 50)
    store, rows = big
    store.upsert(rows[:1])  # a write past the threshold creates the BTREE indexes
    indexed = {tuple(i.columns) for i in store._table.list_indices() if i.index_type == "BTree"}
    assert {("id",), ("source",), ("segment_id",)} <= indexed
    src = rows[0].source
    old = [r for r in rows if r.source == src]
    new = [
        Row(**{**old[0].__dict__, "source_hash": "h2"}),
        Row(**{**old[0].__dict__, "id": "fresh:image", "segment_id": "fresh", "source_hash": "h2"}),
    ]
    store.replace_source(src, new)
    assert store.count(f"source = '{src}'") == 2 and store.source_hash(src) == "h2"
    assert len(store._indexes["image"]) == store.count() == 400 - len(old) + 2

    def fail(where: str) -> None:
        raise OSError("disk full")

    newer = [Row(**{**new[1].__dict__, "id": "newer:image", "segment_id": "newer", "source_hash": "h3"})]
    monkeypatch.setattr(store._table, "delete", fail)
    with pytest.raises(StoreError, match="removing old rows"):
        store.replace_source(src, newer)
    monkeypatch.undo()
    assert store.count(f"source = '{src}'") == 3  # new row landed, old ones still there
    assert store.source_hash(src) is None  # mixed hashes: the engine re-adds the file
    store.replace_source(src, newer)
    assert store.count(f"source = '{src}'") == 1 and store.source_hash(src) == "h3"


def test_an_index_from_before_heard_words_gets_them_on_its_next_write(tmp_path: Path) -> None:
    """A table written before ``Row.heard`` (no ``heard`` column, no full-text index on it) opens and
    searches as it was; its next write adds the column (nulls for the old rows) and the index."""
    import lancedb
    import pyarrow as pa
    from lancedb.index import FTS

    from mmrag.stores import lance_table as lt

    vecs = clustered(4)
    old = rows_for(vecs[:3], channel="text")
    old = [Row(**{**r.__dict__, "text": f"chunk {i} about a zebra"}) for i, r in enumerate(old)]
    data = lt.rows_to_arrow(old, DIM).drop_columns(["heard"])
    table = lancedb.connect(str(tmp_path / "idx")).create_table(lt.TABLE, schema=data.schema)
    table.add(data)
    table.create_index("text", config=FTS())
    assert "heard" not in table.schema.names

    store = open_store(str(tmp_path / "idx"), DIM, CFG)
    try:
        assert "heard" not in store._table.schema.names  # a reader never writes
        assert len(store.text_search("zebra", 5)) == 3 and store.text_search("toucan", 5) == []
        late = Row(**{**rows_for(vecs[3:], prefix="t", channel="text")[0].__dict__, "text": "to ken", "heard": "toucan"})
        store.upsert([late])
        assert store._table.schema.field("heard").type == pa.string()
        assert [s.row.id for s in store.text_search("toucan", 5)] == [late.id]
        assert len(store.text_search("zebra", 5)) == 3  # the old rows: null heard, still found by their text
    finally:
        store.close()
    again = open_store(str(tmp_path / "idx"), DIM, CFG)
    try:
        assert [s.row.id for s in again.text_search("toucan", 5)] == [late.id]
    finally:
        again.close()
